"""TextColumnStep: the shared ``column`` parameter and bind of steps over one text column."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datamoat.data.roles import ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline import TextColumnStep
from datamoat.pipeline.step import param_names, set_column


class Upper(TextColumnStep):
    """Only apply(): the column parameter and bind come from the base."""

    name = "upper_for_test"

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return set_column(batch, self._resolved, pc.utf8_upper(batch.column(self._resolved)))


class Titled(TextColumnStep):
    """Names its column parameter differently, like label_issues' ``text_column``."""

    name = "titled_for_test"
    column_param = "body"

    def __init__(self, *, body: str | None = None, strict: bool = False) -> None:
        super().__init__(column=body)
        self.strict = strict


BATCH = pa.record_batch({"text": ["a b"], "body": ["c"], "n": [1]})


def test_the_column_parameter_defaults_to_the_text_role():
    step = Upper()
    assert param_names(Upper) == ["column"] and step.params() == {"column": None}
    step.bind(ColumnRoles.from_dict({"text": "text"}), BATCH.schema)
    assert step.apply(BATCH).column("text").to_pylist() == ["A B"]
    named = Upper(column="body")
    named.bind(ColumnRoles(), BATCH.schema)
    assert named.apply(BATCH).column("body").to_pylist() == ["C"]


def test_a_step_may_name_its_column_parameter():
    step = Titled(body="body", strict=True)
    assert step.params() == {"body": "body", "strict": True}
    step.bind(ColumnRoles(), BATCH.schema)
    assert step._resolved == "body"
    with pytest.raises(StepError, match="step 'titled_for_test': parameter 'body' must be a column name"):
        Titled(body="")


@pytest.mark.parametrize(
    "step, roles, match",
    [
        (Upper(), ColumnRoles(), "step 'upper_for_test': no column given and the dataset has no 'text' role"),
        (Upper(column="x"), ColumnRoles(), "no column 'x' in the data; the columns are: text, body, n"),
        (Upper(column="n"), ColumnRoles(), "column 'n' holds int64, not text"),
    ],
)
def test_bind_names_the_step_and_the_column(step, roles, match):
    with pytest.raises(StepError, match=match):
        step.bind(roles, BATCH.schema)
