"""Errors that datamoat reports to users as one clear sentence.

Every error a user can cause (a bad file, a wrong column, an unknown version) is raised as a
subclass of :class:`DatamoatError`. The CLI prints ``str(error)`` on stderr and exits non-zero;
no traceback is shown for these.
"""

from __future__ import annotations


class DatamoatError(Exception):
    """A user-facing error; ``str(err)`` is one sentence that says what and where."""


class InputError(DatamoatError):
    """A problem in an input file, located as precisely as the reader can.

    Parameters
    ----------
    path:
        The file (or URL / folder) being read.
    message:
        What is wrong, without the location (e.g. ``"expected 3 fields, found 5"``).
    line:
        1-based physical line number in the file, when known.
    row:
        1-based data row number (header excluded), when known.
    column:
        Column name or 1-based index, when known.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        line: int | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ) -> None:
        self.path = str(path)
        self.message = message
        self.line = line
        self.row = row
        self.column = column
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        where = [self.path]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}" if isinstance(self.column, str) else f"column {self.column}")
        msg = self.message.rstrip(".")
        return f"{', '.join(where)}: {msg}."


class NotFoundError(DatamoatError):
    """A dataset, version, model or file that the user named does not exist."""


class UnavailableError(DatamoatError):
    """A service cannot do it right now (a store is overloaded or its database keeps failing); retry later."""


class ConflictError(DatamoatError):
    """The request conflicts with the current state (e.g. answering a record that is already resolved)."""


class WorkspaceError(DatamoatError):
    """The workspace is missing, not initialised, or its catalog cannot be opened."""


class StepError(DatamoatError):
    """A pipeline step or recipe is misconfigured (unknown step, bad parameter, missing column)."""
