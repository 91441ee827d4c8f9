"""The missing_values check reports the cells that hold a missing marker ("unknown", "n/a", ...) per column."""

from __future__ import annotations

import pyarrow as pa
from conftest import ROLES, table

from datamoat.quality.missing import MissingValues, marker_mask


def test_markers_are_reported_per_column_but_not_counted_as_missing():
    data = table(["unknown", "a text", "n/a", "x"], ["a", "b", "a", "b"],
                 job=pa.array(["admin", "Unknown", " unknown", "?"]), age=pa.array([1, 2, 3, 4]))
    result = MissingValues().run(data, ROLES)
    assert result.summary["markers"] == {"job": {"Unknown": 1, " unknown": 1, "?": 1}}  # the text column is free text
    assert result.summary["by_column"]["job"]["missing"] == 0


def test_marker_mask_is_trimmed_case_insensitive_and_false_for_numbers():
    assert marker_mask(pa.array(["NA", " none ", "unknownish", None, ""])).tolist() == [True, True, False, False, True]
    assert not marker_mask(pa.array([1.0, None])).any()
