"""Printing for the CLI: JSON on stdout for machines, rich tables for people, errors on stderr."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """A table for people; cells are shown as written (``[garbus]`` is text, not rich markup)."""
    table = Table(title=None if title is None else Text(title), show_lines=False)
    for col in columns:
        table.add_column(Text(str(col)), overflow="fold")
    for row in rows:
        table.add_row(*[v if isinstance(v, Text) else Text("" if v is None else str(v)) for v in row])
    stdout.print(table)


def plain(value: Any) -> str:
    """A value in words for the terminal (no Python dict or list syntax)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.2e}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {plain(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) or "-"
    return str(value)


@contextmanager
def stage(message: str, enabled: bool) -> Iterator[None]:
    """One line on stderr saying what a long step is doing (``  loading model x ...``), with a
    spinner and the elapsed time on a terminal; nothing when not ``enabled`` (--json)."""
    if not enabled:
        yield
        return
    stderr.print(f"  {escape(message)} ...", highlight=False)
    if not stderr.is_terminal:
        yield
        return
    with Progress(SpinnerColumn(), TextColumn(escape(message)), TimeElapsedColumn(), console=stderr,
                  transient=True) as progress:
        progress.add_task(message, total=None)
        yield


def error(message: str) -> None:
    """One-sentence error on stderr."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)


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
        stderr.print(f"[yellow]warning:[/] {escape(record.getMessage())}", highlight=False, markup=True, soft_wrap=True)


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
