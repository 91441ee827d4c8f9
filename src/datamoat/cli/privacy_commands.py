"""CLI commands for privacy: the audit log and encryption keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datamoat.cli.context import open_workspace
from datamoat.cli.output import print_json, print_table, stdout
from datamoat.errors import DatamoatError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]

audit_app = typer.Typer(help="The hash-chained audit log: exports, decryptions, re-identifications, DP releases.",
                        no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Recompute the hash chain; fail (exit 1) if any event was edited, deleted or reordered."""
    from datamoat.privacy.audit import verify_chain

    ws = open_workspace(ctx)
    check = verify_chain(ws.catalog)
    if as_json:
        print_json(check.__dict__)
    if not check.ok:
        raise DatamoatError(f"audit log broken at event {check.first_bad_id}: {check.problem}.")
    if not as_json:
        stdout.print(f"audit log intact: {check.events} events, hash chain verified")


@audit_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many events, newest first.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest audit events."""
    from datamoat.privacy.audit import list_events

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
    from datamoat.privacy.keys import DEFAULT_KEY_FILE, generate_key_file

    written = generate_key_file(path or DEFAULT_KEY_FILE)
    stdout.print(f"wrote a new key to {written}; keep it out of the workspace and back it up "
                 "(data encrypted with it cannot be read without it)", highlight=False)
