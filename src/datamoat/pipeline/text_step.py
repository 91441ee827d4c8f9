"""``TextColumnStep``: the base of steps that work on one text column.

Such a step takes the column as a parameter (``column`` unless the class names another in
:attr:`TextColumnStep.column_param`); None means the dataset's ``text`` role column. The base
does the part every such step repeated:

* ``__init__`` validates the parameter (a column name or None) and stores it under its name,
  so :meth:`~datamoat.pipeline.step.Step.params` reports it;
* :meth:`TextColumnStep.bind` resolves it against the roles and the input schema, raising
  :class:`~datamoat.errors.StepError` when it is absent or does not hold strings, and keeps
  the resolved name in ``_resolved`` for ``fit`` and ``apply``.

A step with more parameters defines its own keyword-only ``__init__`` and calls
``super().__init__(column=...)``; a step that needs more checks at bind time calls
``super().bind(roles, schema)`` first.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from datamoat.data.roles import ColumnRoles
from datamoat.pipeline.step import Step, check_column_name, require_text_column


class TextColumnStep(Step):
    """A step over one text column (see the module docstring).

    column: the text column; None means the ``text`` role column.

    Class attributes
    ----------------
    column_param:
        Name of the parameter (and attribute) that holds the column, ``"column"`` by default.
    """

    column_param: ClassVar[str] = "column"

    def __init__(self, *, column: str | None = None) -> None:
        setattr(self, self.column_param, check_column_name(self.name, self.column_param, column))
        self._resolved = ""

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent or not text."""
        self._resolved = require_text_column(self.name, schema, getattr(self, self.column_param), roles)
