"""CLI commands for workspaces and dataset versions: init, ingest, datasets, versions, show,
diff, export, excluded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from datamoat.cli.context import open_workspace, workspace_dir
from datamoat.cli.output import print_json, print_table, row_progress, stdout
from datamoat.data.dataset_name import name_from_path
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.data.version import Version

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


def _version_summary(v: Version) -> dict[str, Any]:
    return {
        "dataset": v.dataset,
        "version": v.ordinal,
        "ref": v.ref,
        "hash": v.hash,
        "rows": v.num_rows,
        "excluded_rows": v.record.excluded_count,
        "step": v.record.step,
        "parents": v.record.parent_refs,
        "created_at": v.record.created_at.isoformat(),
    }


def init(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Argument(help="Where to create the workspace (default: here).")] = None,
    name: Annotated[str | None, typer.Option(help="Project name (default: the directory's name).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: datamoat.yaml (the project spec) and .datamoat/ (catalog, objects, models, reports)."""
    from datamoat.workspace import Workspace

    ws = Workspace.init(directory or workspace_dir(ctx), name=name)
    info = {"workspace": str(ws.root), "config": str(ws.config.path), "catalog": ws.catalog_url}
    if as_json:
        print_json(info)
    else:
        stdout.print(f"Workspace ready at [bold]{escape(str(ws.root))}[/] (catalog: {escape(ws.catalog_url)})", highlight=False)


def ingest(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(help="File, folder of text files, SQLAlchemy URL (with --query), or HTTP JSON API URL (with --format http_json).")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Dataset name (default: the file's stem).")] = None,
    text: Annotated[str | None, typer.Option(help="Column with the text.")] = None,
    label: Annotated[str | None, typer.Option(help="Column with the label.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Column with unique row ids (default: hash of the row).")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Any role as ROLE=COLUMN, repeatable (e.g. timestamp=created_at, quasi_identifier=age).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="csv, tsv, json, jsonl, parquet, sql, text (default: guessed) or http_json (PATH is an API URL; its keys as -o, e.g. -o data_selector=data -o paginator.type=page_number -o max_pages=50 -o 'headers.Authorization=Bearer ${TOKEN}').")] = None,
    source: Annotated[str | None, typer.Option(help="Ingest the named source from datamoat.yaml instead of PATH (an http_json source with `incremental` fetches only what is new since its last run).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    header: Annotated[bool | None, typer.Option("--header/--no-header", help="Whether the CSV has a header row (default: sniffed).")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding, e.g. latin-1 (default: UTF-8, checked over the whole file; cp1252, with a warning, when most non-ASCII bytes are not UTF-8).")] = None,
    on_decode_error: Annotated[str | None, typer.Option(help="Bytes the encoding cannot decode: fail (default, names the line and byte offset), replace (U+FFFD, the lines are counted on the terminal) or skip-row (those rows go to the exclusions).")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query, with a SQLAlchemy URL as PATH.")] = None,
    mode: Annotated[str | None, typer.Option(help="Text files: 'file' (one document each), 'line' (one per line) or 'block' (ordered blocks of whole paragraphs, -o block_chars=N, default 2000).")] = None,
    as_corpus: Annotated[bool, typer.Option("--as-corpus", help="A language-model corpus, one row per document: a folder gives one row per file, a CSV/JSON/Parquet file one per row (--text COLUMN), any other file ordered blocks of whole paragraphs (--block-chars).")] = False,
    block_chars: Annotated[int, typer.Option(help="With --as-corpus: the least characters of a block of one long text file.")] = 2000,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Any reader option as KEY=VALUE, repeatable (e.g. keep_blank=false, quoting=false, label_from=folder; http_json keys with dots for nesting, e.g. paginator.total_path=meta.pages).")] = None,
    skip_bad_rows: Annotated[bool, typer.Option(help="Keep unparseable rows in the exclusions table instead of failing.")] = False,
    allow_empty: Annotated[bool, typer.Option(help="Make an empty version of a source with columns but no rows (default: refused).")] = False,
    infer_roles: Annotated[bool, typer.Option("--infer-roles/--no-infer-roles", help="Without --text, take the free-text column as the text: median >= 20 characters, mostly with spaces, >= 50% distinct; the longest such column (said on the terminal).")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Read a file, folder, SQL query or HTTP JSON API into a new immutable version of a dataset."""
    ws = open_workspace(ctx)
    with row_progress("ingesting", enabled=not as_json) as progress:
        if source:
            v = ws.ingest_source(source, progress=progress)
        else:
            if not path:
                raise DatamoatError("give a PATH to ingest, or --source NAME from datamoat.yaml.")
            roles = parse_roles(role or [])
            if roles == {} and text is None and label is None and id_column is None:
                roles = None
            options = {
                k: v
                for k, v in {"delimiter": delimiter, "header": header, "encoding": encoding,
                             "on_decode_error": on_decode_error, "query": query, "mode": mode}.items()
                if v is not None
            }
            options.update(_parse_options(option or []))
            dataset = name or _default_name(path)
            if as_corpus:
                v = ws.ingest_corpus(path, name=dataset, text=text, format=fmt, block_chars=block_chars,
                                     progress=progress, **options)
            else:
                v = ws.ingest(
                    path,
                    name=dataset,
                    text=text,
                    label=label,
                    id=id_column,
                    roles=roles,
                    format=fmt,
                    on_bad_rows="skip" if skip_bad_rows else "error",
                    progress=progress,
                    allow_empty=allow_empty,
                    infer_roles=infer_roles,
                    **options,
                )
    created = getattr(v, "created", True)
    if as_json:
        print_json({**_version_summary(v), "created": created, "source": v.record.source})
        return
    what = "new version" if created else "already stored as"
    stdout.print(f"{what} [bold]{escape(v.dataset)}@{v.ordinal}[/] ({escape(v.ref)}): {v.num_rows:,} rows", highlight=False)
    fetched = (v.record.source or {}).get("fetch")
    if fetched:
        stdout.print(_fetch_line(fetched), highlight=False, markup=False)
    if v.record.excluded_count:
        kind = "superseded or unparseable" if fetched else "unparseable"
        stdout.print(f"{v.record.excluded_count:,} {kind} rows kept in `datamoat excluded {v.ref}`")


def _fetch_line(fetch: dict[str, Any]) -> str:
    """``fetched 30 records from 3 pages (5 requests, 2 retries); merged: +10 added, ~3 updated``."""
    def n(count: int, one: str, many: str) -> str:
        return f"{count:,} {one if count == 1 else many}"

    line = (f"fetched {n(fetch['records'], 'record', 'records')} from {n(fetch['pages'], 'page', 'pages')} "
            f"({n(fetch['requests'], 'request', 'requests')}, {n(fetch['retries'], 'retry', 'retries')})")
    merge = fetch.get("merge")
    if merge and merge.get("into"):
        line += f"; merged into {merge['into']}: +{merge['added']:,} added, ~{merge['updated']:,} updated"
    return line


def parse_roles(pairs: list[str]) -> dict[str, Any]:
    roles: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value:
            raise DatamoatError(f"--role takes ROLE=COLUMN, got {pair!r}.")
        if key in ("quasi_identifier", "sensitive"):
            roles.setdefault(key, []).extend(value.split(","))
        else:
            roles[key] = value
    return roles


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["keep_blank=false", "delimiter=;"]`` -> ``{"keep_blank": False, "delimiter": ";"}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DatamoatError(f"--option takes KEY=VALUE, got {pair!r}.")
        low = value.lower()
        out[key] = True if low == "true" else False if low == "false" else None if low in ("none", "null") else value
    return out


def _default_name(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return name_from_path(path.split("?", 1)[0])
    if "://" in path:
        return "query"
    return name_from_path(path)


def datasets(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the datasets in the workspace."""
    ws = open_workspace(ctx)
    rows = ws.datasets()
    if as_json:
        print_json(rows)
        return
    print_table(
        "datasets",
        ["name", "versions", "latest", "rows"],
        [[r["name"], r["versions"], r["latest"], f"{r['rows']:,}" if r["rows"] is not None else ""] for r in rows],
    )


def versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    as_json: JsonOpt = False,
) -> None:
    """List a dataset's versions, oldest first, with the step that made each."""
    ws = open_workspace(ctx)
    vs = ws.versions(name)
    if as_json:
        print_json([_version_summary(v) for v in vs])
        return
    print_table(
        f"versions of {name}",
        ["#", "ref", "rows", "excluded", "step", "parents", "created"],
        [
            [v.ordinal, v.ref, f"{v.num_rows:,}", v.record.excluded_count, v.record.step,
             ", ".join(v.record.parent_refs), v.record.created_at.strftime("%Y-%m-%d %H:%M:%S")]
            for v in vs
        ],
    )


def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="N, N@latest, N@<ordinal> or N@<hash prefix>.")],
    rows: Annotated[int, typer.Option("--rows", "-k", help="How many rows to print.")] = 10,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns to print (default: all); with more than fit the terminal's width, each row is printed as one line per column.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a version's manifest (schema, roles, lineage, source) and its first rows."""
    from datamoat.data.version import user_columns

    ws = open_workspace(ctx)
    v = ws.version(ref)
    head = v.head(rows)
    shown = user_columns(head.schema)
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in shown]
        if unknown:
            raise DatamoatError(f"{v.ref} has no column {unknown[0]!r}; its columns are {', '.join(shown)}.")
        shown = wanted
    if as_json:
        print_json({"manifest": v.manifest(), "rows": head.select(["_dm_row_id", *shown]).to_pylist()})
        return
    m = v.manifest()
    stdout.print(f"[bold]{escape(v.dataset)}@{v.ordinal}[/]  {v.hash}", highlight=False)
    stdout.print(f"rows {m['rows']:,}   excluded {m['excluded_rows']:,}   made by {m['step']}   "
                 f"parents {', '.join(m['parents']) or '-'}", highlight=False, markup=False)
    if m["source"]:
        src, opts = m["source"], m["source"].get("options", {})
        details = [src.get("format")] + [f"{k} {opts[k]!r}" for k in ("encoding", "delimiter", "header", "mode") if k in opts]
        stdout.print(f"source {src.get('path')} ({', '.join(str(d) for d in details if d)})", highlight=False, markup=False)
    print_table("schema", ["column", "type", "roles"], [[c["name"], c["type"], ",".join(c["roles"])] for c in m["schema"]])
    text_col = v.roles.get("text")
    budget = max(40, stdout.width - 3 * len(shown) - 1)  # characters left for cell contents
    narrow = budget // (len(shown) + (2 if text_col in shown else 0))
    records = head.to_pylist()
    if narrow < MIN_CELL_CHARS:  # too many columns side by side: one line per column, row after row
        value_width = max(20, stdout.width - max(len(c) for c in shown) - 7)
        for r in records:
            print_table(f"row {r['_dm_row_id']}", ["column", "value"], [[c, _short(r[c], value_width)] for c in shown])
        return
    widths = {c: narrow * 3 if c == text_col else narrow for c in shown}
    print_table(f"first {head.num_rows} rows", shown, [[_short(r[c], widths[c]) for c in shown] for r in records])


MIN_CELL_CHARS = 10
"""Narrowest cell `show` prints side by side; below it each row is printed one line per column."""


def _short(value: Any, width: int = 80) -> str:
    """One line, at most ``width`` characters (newlines shown as ⏎)."""
    text = "" if value is None else str(value).replace("\r\n", "⏎").replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="The older version (N@A).")],
    b: Annotated[str, typer.Argument(help="The newer version (N@B).")],
    sample: Annotated[int, typer.Option(help="Example rows to show per kind.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Rows added, removed and changed between two versions (matched by stable row id)."""
    ws = open_workspace(ctx)
    d = ws.diff(a, b, sample=sample)
    if as_json:
        print_json(d.to_dict())
        return
    stdout.print(
        f"{d.a} -> {d.b}: [green]+{d.added:,} added[/]  [red]-{d.removed:,} removed[/]  "
        f"[yellow]~{d.changed:,} changed[/]  {d.unchanged:,} unchanged"
    )
    for label, cols in (("columns added", d.columns_added), ("columns removed", d.columns_removed)):
        if cols:
            stdout.print(f"{label}: {', '.join(cols)}", highlight=False, markup=False)
    for change in d.samples.get("changed", []):
        for col, (old, new) in change["columns"].items():
            stdout.print(f"  ~ {change['_dm_row_id']} {col}: {_short(old, 60)!r} -> {_short(new, 60)!r}", highlight=False,
                         markup=False)


def export(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version to export (N[@VER]).")],
    out: Annotated[Path, typer.Argument(help="Output file: .csv, .jsonl or .parquet.")],
    internal: Annotated[bool, typer.Option(help="Also write datamoat's _dm_ columns (row id, stats).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a version to CSV, JSON Lines or Parquet (atomically)."""
    ws = open_workspace(ctx)
    v = ws.version(ref)
    path = ws.export(ref, out, internal=internal)
    if as_json:
        print_json({"ref": v.ref, "path": str(path), "rows": v.num_rows})
    else:
        stdout.print(f"wrote {v.num_rows:,} rows of {v.ref} to {path}", highlight=False, markup=False)


def excluded(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]).")],
    rows: Annotated[int, typer.Option("--rows", "-k", help="How many excluded rows to print.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Rows dropped on the way to a version, each with the step and the reason."""
    ws = open_workspace(ctx)
    v = ws.version(ref)
    table = v.excluded()
    counts: dict[str, int] = {}
    for reason in table.column("_dm_reason").to_pylist():
        counts[reason] = counts.get(reason, 0) + 1
    listed = table.slice(0, rows).to_pylist()
    if as_json:
        print_json({"ref": v.ref, "excluded_rows": table.num_rows, "by_reason": counts,
                    "rows": [{**r, "_dm_row": json.loads(r["_dm_row"])} for r in listed]})
        return
    stdout.print(f"{table.num_rows:,} rows excluded on the way to {v.ref}", highlight=False, markup=False)
    if counts:
        print_table("by reason", ["reason", "rows"], [[k, f"{n:,}"] for k, n in sorted(counts.items(), key=lambda kv: -kv[1])])
    if listed:
        print_table(None, ["row id", "step", "reason", "row"],
                    [[r["_dm_row_id"], r["_dm_step"], r["_dm_reason"], _short(r["_dm_row"], 70)] for r in listed])
