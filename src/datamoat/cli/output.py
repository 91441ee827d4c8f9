"""Printing for the CLI: JSON on stdout for machines, rich tables for people, errors on stderr."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """A table for people."""
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    stdout.print(table)


def error(message: str) -> None:
    """One-sentence error on stderr."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)


@contextmanager
def row_progress(description: str, enabled: bool) -> Iterator[Any]:
    """A rich progress display counting rows; yields a callback ``update(rows_so_far)``.

    Shown only on a terminal and when ``enabled`` (not with --json).
    """
    if not enabled or not stderr.is_terminal:
        yield lambda rows: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda rows: progress.update(task, completed=rows)


class _TerminalWarnings(logging.Handler):
    """Prints warning records as ``warning: <message>`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        stderr.print(f"[yellow]warning:[/] {record.getMessage()}", highlight=False, markup=True, soft_wrap=True)


@contextmanager
def warnings_on_terminal(logger: str = "datamoat.data") -> Iterator[None]:
    """While open, warnings logged under ``logger`` (how a source was read) go to stderr."""
    handler = _TerminalWarnings(logging.WARNING)
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield
    finally:
        target.removeHandler(handler)
