"""The profile's HTML report is readable: every check in the chart, true row counts, rounded
figures, personal data masked in every example, tables instead of raw lists, column histograms."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from datamoat.quality.check import CheckResult
from datamoat.quality.profile import profile_version
from datamoat.quality.report import nice, render_report

EMAIL = "maria.lopez@example.org"


def _version(workspace, tmp_path: Path):
    path = tmp_path / "tickets.csv"
    topics = ["refund for my order", "password reset link broken", "parcel arrived damaged", "card was declined"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label", "amount"])
        for i in range(60):
            topic = topics[i % 4]
            text = f"Hello, my {topic} again, ticket number {i}, write to {EMAIL} please" if i % 5 == 0 else \
                f"Hello, my {topic} again, ticket number {i}, thanks a lot"
            w.writerow([f"T{i:03d}", text, topic.split()[0], f"{(i * 7) % 50 + 0.5}"])
    return workspace.ingest(str(path), name="tickets", text="text", label="label", id="id")


def test_report_counts_masks_and_tabulates(workspace, tmp_path: Path) -> None:
    version = _version(workspace, tmp_path)
    prof = profile_version(version)
    html = render_report(prof)

    # every check's heading counts the rows of the data ("88 of 5 rows" came from an LSH parameter)
    for name, s in prof.checks.items():
        assert s["rows"] == 60, name
        assert f"{s['issues']:,} of 60 rows" in html
    assert "rows_per_band" in prof.checks["near_duplicates"]

    # the flagged-rows chart is one horizontal bar per check, every check named
    bar = re.search(r'\[\{"cliponaxis":false,"orientation":"h".*?"y":(\[[^\]]*\])', html)
    assert bar is not None
    assert json.loads(bar.group(1)) == [n.replace("_", " ") for n in prof.checks]

    # personal data never appears in the page: example texts of every check are masked
    assert prof.checks["pii"]["issues"] == 12
    assert EMAIL not in html and "*" * len(EMAIL) in html
    assert EMAIL not in json.dumps(prof.checks)  # nor in the examples of --json
    # pii_spans of the examples are a table (type, start, end), not a Python list
    assert "{&#39;type&#39;" not in html and "{'type'" not in html
    assert re.search(r'<table class="inner"><tr><th>type</th><th>start</th><th>end</th>', html)

    # numeric columns get a histogram
    amount = next(c for c in prof.columns if c.name == "amount")
    assert sum(amount.numeric["histogram"]["counts"]) == 60 and len(amount.numeric["histogram"]["edges"]) == 21
    assert html.count('class="hist"') >= 2  # amount, and the text column's lengths

    # the examples' note on masking is there only when the pii check ran
    note = "personal data the pii check found is shown as ***"
    prof.checks["exact_duplicates"] = {"rows": 60, "issues": 1, "rate": 1 / 60,
                                       "examples": [{"_dm_row_id": "T001", "duplicate_of": "T000"}]}
    assert note in render_report(prof)
    del prof.checks["pii"]
    assert note not in render_report(prof)


def test_nice_rounds_floats_and_separates_thousands() -> None:
    assert nice(0.027666666666666666) == "0.02767"
    assert nice(12345) == "12,345"
    assert nice(4.148806543470233e-68) == "4.15e-68"
    assert nice(None) == "–" and nice(["a", 0.5]) == "a, 0.5"


def test_check_counts_win_over_a_check_specific_key() -> None:
    import pyarrow as pa

    issues = pa.table({"_dm_row_id": ["a", "b", "c"], "is_issue": [True, False, True], "score": [0.0, 1.0, 0.0]})
    result = CheckResult("x", issues, {"rows": 5, "issues": 99, "bands": 2})
    assert result.summary["rows"] == 3 and result.summary["issues"] == 2 and result.summary["bands"] == 2


def test_a_rewrite_of_a_text_with_personal_data_is_hidden() -> None:
    import pyarrow as pa

    from datamoat.quality.profile import HIDDEN, mask_examples

    text = "mail " + EMAIL + " now"
    checks = {"encoding_problems": {"examples": [
        {"_dm_row_id": "a", "kind": "mojibake", "suggested_fix": "fixed: " + text + " " * 40, "text": text},
        {"_dm_row_id": "b", "kind": "mojibake", "suggested_fix": "no personal data in this one at all, none", "text": "x"},
    ]}}
    spans = pa.array([[{"type": "EMAIL", "start": 5, "end": 5 + len(EMAIL)}], []],
                     pa.list_(pa.struct([("type", pa.string()), ("start", pa.int32()), ("end", pa.int32())])))
    pii = CheckResult("pii", pa.table({"_dm_row_id": ["a", "b"], "is_issue": [True, False], "score": [0.0, 1.0],
                                       "pii_spans": spans}))
    mask_examples(checks, pii)
    a, b = checks["encoding_problems"]["examples"]
    assert a["text"] == "mail " + "*" * len(EMAIL) + " now" and a["suggested_fix"] == HIDDEN and a["kind"] == "mojibake"
    assert b["suggested_fix"].startswith("no personal data")
