"""CLI commands for privacy: the audit log and encryption keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from datamoat.cli.context import open_workspace
from datamoat.cli.output import plain, print_json, print_table, stage, stderr, stdout
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.data.version import Version

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
PiiModeOpt = Annotated[str | None, typer.Option(
    "--pii-mode", help="How personal data is found: accurate (recognizers + the learned tagger for names and "
                       "addresses) or fast (recognizers only). Default: pii.mode in datamoat.yaml, else accurate.")]

audit_app = typer.Typer(help="The hash-chained audit log: exports, decryptions, re-identifications, DP releases.",
                        no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    against: Annotated[Path | None, typer.Option("--against", help="A checkpoint from `datamoat audit checkpoint`: also fail if events were deleted from the end or the log was rewritten since.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the hash chain; fail (exit 1) if any event was edited, deleted or reordered.

    Events written with a key (DATAMOAT_KEY or DATAMOAT_KEY_FILE) are HMAC-SHA256 chained and
    checked with that key; without a key only their links are checked, with a warning. Deleting
    the newest events, or all of them, is detected only with --against a checkpoint.
    """
    from datamoat.catalog.audit import verify_chain
    from datamoat.catalog.audit_checkpoint import check_against, read_checkpoint

    ws = open_workspace(ctx)
    checkpoint = read_checkpoint(against) if against is not None else None
    check = verify_chain(ws.catalog)
    against_problem = check_against(ws.catalog, checkpoint) if checkpoint is not None else None
    if as_json:
        print_json({**check.__dict__, "checkpoint": str(against) if against else None,
                    "checkpoint_problem": against_problem})
    if not check.ok:
        raise DatamoatError(f"audit log broken at event {check.first_bad_id}: {check.problem}.")
    if against_problem is not None:
        raise DatamoatError(f"audit log does not match the checkpoint {against}: {against_problem}.")
    if as_json:
        return
    if not check.key_configured:
        stderr.print("[yellow]warning:[/] no key configured (DATAMOAT_KEY / DATAMOAT_KEY_FILE): "
                     f"{check.keyed} keyed events were checked for order only, and the unkeyed SHA-256 chain "
                     "can be recomputed by anyone who can write the catalog", highlight=False)
    if check.unkeyed_after_keyed:
        stderr.print(f"[yellow]warning:[/] {check.unkeyed_after_keyed} unkeyed events follow keyed ones: appended by a "
                     "process without this log's key, or events rewritten without it; check with --against a "
                     "checkpoint", highlight=False)
    elif check.key_configured and check.unkeyed:
        stderr.print(f"[yellow]warning:[/] the first {check.unkeyed} events are unkeyed (written before the "
                     "chain was keyed or without a key): only a checkpoint protects them from a rewrite", highlight=False)
    stdout.print(f"audit log intact: {check.events} events ({check.keyed} keyed with HMAC-SHA256, "
                 f"{check.unkeyed} unkeyed), hash chain verified", highlight=False)
    if checkpoint is not None:
        stdout.print(f"checkpoint {against} of {checkpoint.at}: its {checkpoint.events} events are all there, unchanged",
                     highlight=False, markup=False)
    else:
        stdout.print("events deleted from the end are only detected with --against a checkpoint "
                     "(`datamoat audit checkpoint`)", highlight=False)


@audit_app.command("checkpoint")
def audit_checkpoint(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write it, outside the workspace's .datamoat folder (default: audit-checkpoint-<UTC time>.json here).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a checkpoint of the audit log (event count, head hash, time) signed with the key.

    Keep it where the catalog's writers cannot change it; `datamoat audit verify --against FILE`
    then detects events deleted from the end and rewrites. Needs DATAMOAT_KEY or DATAMOAT_KEY_FILE.
    """
    from datamoat.catalog.audit_checkpoint import write_checkpoint
    from datamoat.catalog.records import utc_now

    ws = open_workspace(ctx)
    path = out or Path(f"audit-checkpoint-{utc_now().strftime('%Y%m%dT%H%M%SZ')}.json")
    checkpoint = write_checkpoint(ws.catalog, path, ws.state)
    if as_json:
        print_json({"path": str(path), "events": checkpoint.events, "head": checkpoint.head, "at": checkpoint.at})
        return
    stdout.print(f"wrote a signed checkpoint of {checkpoint.events} audit events to {path}; keep it outside "
                 "the workspace and check it with `datamoat audit verify --against`", highlight=False, markup=False)


@audit_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many events, newest first.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest audit events."""
    from datamoat.catalog.audit import list_events

    ws = open_workspace(ctx)
    events = list_events(ws.catalog, limit=limit)
    if as_json:
        print_json(events)
        return
    print_table("audit log", ["#", "at", "actor", "action", "subject"],
                [[e["id"], e["at"][:19], e["actor"], e["action"], e["subject"]] for e in events])


def keygen(
    path: Annotated[Path | None, typer.Argument(help="Where to write the key (default: ~/.config/datamoat/key).")] = None,
) -> None:
    """Write a new random 256-bit key file (mode 0600) for encryption and reversible pseudonyms."""
    from datamoat.keys import DEFAULT_KEY_FILE, generate_key_file

    written = generate_key_file(path or DEFAULT_KEY_FILE)
    stdout.print(f"wrote a new key to {written}; keep it out of the workspace and back it up "
                 "(data encrypted with it cannot be read without it)", highlight=False, markup=False)


# ---------------------------------------------------------------- PII
pii_app = typer.Typer(help="Personal data in free text: scan, redact or pseudonymise, reveal a pseudonym.",
                      no_args_is_help=True)


@pii_app.command("scan")
def pii_scan(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]).")],
    pii_mode: PiiModeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Count personal data in the text column by type, with masked examples."""
    from datamoat.quality.check import create_check

    ws = open_workspace(ctx)
    v = ws.version(ref)
    result = create_check("pii", {"pii_mode": pii_mode or ws.config.pii_mode}).run(v.to_arrow(), v.roles)
    if as_json:
        print_json({"ref": v.ref, **result.summary})
        return
    s = result.summary
    stdout.print(f"{v.ref}: {s['issues']:,} of {s['rows']:,} rows contain personal data ({100 * s['rate']:.1f}%; "
                 f"PII mode {s['pii_mode']})", highlight=False, markup=False)
    by_type = s.get("by_type", {})
    print_table("by type", ["type", "findings", "rows"],
                [[t, f"{c['findings']:,}", f"{c['rows']:,}"] for t, c in by_type.items()])
    examples = s.get("examples", [])[:5]
    if examples:
        print_table("examples (masked)", ["row id", "types", "text"],
                    [[e.get("_dm_row_id"), ", ".join(e.get("types", [])), e.get("example")] for e in examples])


@pii_app.command("redact")
def pii_redact(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]).")],
    mode: Annotated[str, typer.Option(help="redact | mask | hash | pseudonymize | reversible.")] = "redact",
    entities: Annotated[str | None, typer.Option(help="Comma-separated types (default: all).")] = None,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns (default: the text column).")] = None,
    namespace: Annotated[str, typer.Option(help="Vault namespace for reversible pseudonyms.")] = "default",
    pii_mode: PiiModeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rewrite personal data in a new version; hash/pseudonymize/reversible need a key (`datamoat keygen`).

    Reports how many rows had personal data (and how many spans were rewritten), not how many rows were read.
    """
    ws = open_workspace(ctx)
    params: dict[str, object] = {"mode": mode, "namespace": namespace}
    if pii_mode or ws.config.pii_mode:
        params["pii_mode"] = pii_mode or ws.config.pii_mode
    if entities:
        params["entities"] = [e.strip() for e in entities.split(",") if e.strip()]
    if columns:
        params["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
    if mode == "reversible":
        params["catalog_url"] = ws.catalog_url
    with stage(f"finding and rewriting personal data in {ref}", enabled=not as_json):
        result = ws.apply(ref, [{"step": "pii_redact", **params}], label="pii_redact")
    v = result.version
    changed, spans = _pii_rows(v)
    if as_json:
        print_json({"input": result.input_ref, "output": v.ref, "version": v.ordinal, "mode": mode, "rows": v.num_rows,
                    "rows_with_pii": changed, "spans": spans})
        return
    stdout.print(f"{escape(result.input_ref)} -> [bold]{escape(v.dataset)}@{v.ordinal}[/] ({escape(v.ref)}): "
                 f"personal data {mode}ed in {changed:,} of {v.num_rows:,} rows ({spans:,} spans)", highlight=False)


def _pii_rows(v: Version) -> tuple[int, int]:
    """(rows with at least one PII span rewritten, spans rewritten) from the version's
    ``_dm_pii_count`` stats column; (0, 0) when the version does not keep it."""
    import pyarrow.compute as pc

    from datamoat.privacy.pii.step import PII_COUNT_COLUMN

    if PII_COUNT_COLUMN not in v.schema.names:
        return 0, 0
    counts = v.to_arrow([PII_COUNT_COLUMN]).column(PII_COUNT_COLUMN)
    return (int(pc.sum(pc.greater(counts, 0)).as_py() or 0), int(pc.sum(counts).as_py() or 0))


@pii_app.command("reveal")
def pii_reveal(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="A token such as <PERSON_3f2a91c0d4e5>.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log).")] = "",
    namespace: Annotated[str, typer.Option(help="Vault namespace.")] = "default",
) -> None:
    """Show the original value behind a reversible pseudonym (needs the key; audited)."""
    from datamoat.keys import load_key
    from datamoat.privacy.pii.vault import PiiVault

    ws = open_workspace(ctx)
    vault = PiiVault(ws.catalog, load_key(ws.root), namespace=namespace)
    stdout.print(vault.reveal(token, reason=reason), highlight=False, markup=False)


# ---------------------------------------------------------------- k-anonymity
def anonymize(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]); quasi_identifier / sensitive roles or options.")],
    k: Annotated[int, typer.Option(help="Every combination of quasi-identifiers is shared by at least k rows.")] = 5,
    l_div: Annotated[int | None, typer.Option("--l", help="At least l distinct sensitive values per class.")] = None,
    t: Annotated[float | None, typer.Option(help="t-closeness: each class's sensitive distribution within t of the whole.")] = None,
    max_suppression: Annotated[float, typer.Option(help="Largest share of rows that may be suppressed.")] = 0.05,
    quasi: Annotated[str | None, typer.Option(help="Comma-separated quasi-identifier columns (default: the role).")] = None,
    sensitive: Annotated[str | None, typer.Option(help="Comma-separated sensitive columns (default: the role).")] = None,
    hierarchies: Annotated[Path | None, typer.Option(help="YAML with generalisation hierarchies per column.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generalise and suppress to reach k-anonymity (and l-diversity, t-closeness) with minimal loss."""
    import yaml

    from datamoat.pipeline.recipe import Recipe
    from datamoat.pipeline.registry import create_step

    ws = open_workspace(ctx)
    params: dict[str, object] = {"k": k, "l": l_div, "t": t, "max_suppression": max_suppression}
    if quasi:
        params["quasi_identifiers"] = [c.strip() for c in quasi.split(",") if c.strip()]
    if sensitive:
        params["sensitive"] = [c.strip() for c in sensitive.split(",") if c.strip()]
    if hierarchies is not None:
        try:
            params["hierarchies"] = yaml.safe_load(hierarchies.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DatamoatError(f"{hierarchies}: cannot read the hierarchies ({exc}).") from exc
    step = create_step("k_anonymize", params)
    result = ws.apply(ref, Recipe([step]), label="anonymize")
    v = result.version
    stats = getattr(step, "stats", {}) or {}
    summary = {"input": result.input_ref, "output": v.ref, "version": v.ordinal, "rows_out": result.rows_out,
               "suppressed": result.rows_in - result.rows_out, **stats}
    if as_json:
        print_json(summary)
        return
    stdout.print(f"{summary['input']} -> [bold]{v.dataset}@{v.ordinal}[/] ({v.ref}): {result.rows_out:,} rows, "
                 f"{summary['suppressed']:,} suppressed (kept in `datamoat excluded`)", highlight=False)
    labels = {"k": "achieved k", "l_distinct": "l (distinct)", "l_entropy": "l (entropy, exp H)", "t": "t (EMD)",
              "level_names": "generalisation", "ncp": "information loss (NCP, 0-1)", "c_avg": "average class size / k",
              "discernibility": "discernibility", "warnings": "warnings"}
    for key, label in labels.items():
        if stats.get(key) not in (None, [], {}):
            stdout.print(f"  {label}: {plain(stats[key])}", highlight=False, markup=False)


# ---------------------------------------------------------------- differential privacy
dp_app = typer.Typer(
    help="Differential privacy on a per-dataset budget: DP statistics, and what DP trainings "
         "(train/run/retrain --dp-epsilon) spent.",
    no_args_is_help=True,
)


@dp_app.command("budget")
def dp_budget(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    epsilon: Annotated[float, typer.Option(help="Total epsilon for all DP statistics and DP trainings on this dataset.")],
    delta: Annotated[float, typer.Option(help="Total delta (0 for pure DP).")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Set a dataset's total privacy budget."""
    from datamoat.privacy.dp_ledger import set_budget

    ws = open_workspace(ctx)
    budget = set_budget(ws.catalog, dataset, epsilon, delta)
    if as_json:
        print_json(budget.to_dict())
    else:
        stdout.print(f"{dataset}: budget epsilon={epsilon}, delta={delta}", highlight=False)


@dp_app.command("status")
def dp_status(
    ctx: typer.Context, dataset: Annotated[str, typer.Argument(help="Dataset name.")], as_json: JsonOpt = False
) -> None:
    """What a dataset's budget is, what DP statistics and DP trainings spent, and what remains."""
    from datamoat.privacy.dp_ledger import list_releases, remaining_budget

    ws = open_workspace(ctx)
    budget = remaining_budget(ws.catalog, dataset)
    releases = list_releases(ws.catalog, dataset)
    if as_json:
        print_json({"budget": budget.to_dict(), "releases": releases})
        return
    stdout.print(f"{dataset}: epsilon {budget.epsilon_spent:.4g} of {budget.epsilon_total:.4g} spent "
                 f"({budget.epsilon_remaining:.4g} left), delta {budget.delta_spent:.4g} of {budget.delta_total:.4g} "
                 f"spent, in {budget.releases:,} releases", highlight=False, markup=False)
    if releases:
        print_table("releases", ["#", "at", "statistic", "column", "epsilon", "delta", "result"],
                    [[r["id"], r["at"][:19], r["statistic"], r["column"], f"{r['epsilon']:.4g}", f"{r['delta']:.4g}",
                      plain(r["result"])] for r in releases])


@dp_app.command("release")
def dp_release(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]).")],
    stat: Annotated[str, typer.Option(help="count | sum | mean | histogram.")],
    column: Annotated[str, typer.Option(help="The column.")],
    epsilon: Annotated[float, typer.Option(help="Epsilon to spend on this release.")],
    delta: Annotated[float, typer.Option(help="Delta to spend (Gaussian mechanism).")] = 0.0,
    mechanism: Annotated[str, typer.Option(help="laplace or gaussian.")] = "laplace",
    bounds: Annotated[str | None, typer.Option(help="LO,HI clamping bounds (sum, mean).")] = None,
    categories: Annotated[str | None, typer.Option(help="Comma-separated categories (histogram).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Release one differentially private statistic; refused if it would exceed the budget."""
    from datamoat.privacy.dp_release import release

    ws = open_workspace(ctx)
    parsed_bounds = None
    if bounds:
        try:
            lo, hi = (float(x) for x in bounds.split(","))
        except ValueError as exc:
            raise DatamoatError(f"--bounds takes LO,HI, got {bounds!r}.") from exc
        parsed_bounds = (lo, hi)
    cats = [c.strip() for c in categories.split(",")] if categories else None
    out = release(ws.catalog, ws.version(ref), stat, column, epsilon=epsilon, delta=delta, mechanism=mechanism,
                  bounds=parsed_bounds, categories=cats)
    if as_json:
        print_json(out.to_dict())
    else:
        d = out.to_dict()
        stdout.print(f"{stat}({column}) = {d['value']}  (epsilon {d['epsilon']:.3g} spent; "
                     f"{d['budget'].get('epsilon_remaining')} left)", highlight=False, markup=False)


# ---------------------------------------------------------------- encryption at rest
def encrypt(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]).")],
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns (default: the sensitive role).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Encrypt sensitive columns (AES-GCM) into a new version; reading them back needs the key."""
    from datamoat.privacy.encryption import encrypt_version

    ws = open_workspace(ctx)
    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    result = encrypt_version(ws.catalog, ws.store, ws.version(ref), cols)
    v = result.version
    if as_json:
        print_json({"input": result.input_ref, "output": v.ref, "version": v.ordinal})
    else:
        stdout.print(f"{result.input_ref} -> [bold]{v.dataset}@{v.ordinal}[/] ({v.ref}): columns encrypted",
                     highlight=False)


def decrypt(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version (N[@VER]).")],
    column: Annotated[str, typer.Option(help="The encrypted column.")],
    out: Annotated[Path | None, typer.Option(help="Write row id + value to this .csv/.parquet instead of printing.")] = None,
    rows: Annotated[int, typer.Option("--rows", "-k", help="Rows to print.")] = 10,
) -> None:
    """Decrypt a column (needs the key; every decryption is audited)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from datamoat.privacy.encryption import decrypt_column

    ws = open_workspace(ctx)
    table = decrypt_column(ws.catalog, ws.version(ref), column, workspace_root=ws.root)
    if out is None:
        print_table(f"{column} (decrypted)", table.column_names, [list(r.values()) for r in table.slice(0, rows).to_pylist()])
        return
    if out.suffix == ".parquet":
        pq.write_table(table, out)
    else:
        pacsv.write_csv(table, out)
    stdout.print(f"wrote {table.num_rows:,} decrypted values to {out}", highlight=False, markup=False)
