"""CLI commands for the service: ``serve`` and ``keys create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

import typer

from datamoat.cli.context import open_workspace, workspace_dir
from datamoat.cli.output import print_json, print_table, stage, stdout
from datamoat.errors import DatamoatError


def serve(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Model NAME (follows its champion) or NAME@N (pinned); default: the only model.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    threads: Annotated[int | None, typer.Option(help="Threads per model call (default: every core).")] = None,
    max_batch: Annotated[int, typer.Option(help="Most texts in one /v1/predict request.")] = 64,
    max_text_chars: Annotated[int, typer.Option(help="Longest text accepted, in characters (also a /v1/generate prompt).")] = 10_000,
    max_generate_tokens: Annotated[int, typer.Option(help="Most new tokens one /v1/generate call may ask for (language models).")] = 256,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted, in bytes.")] = 1_000_000,
    log_text: Annotated[bool, typer.Option("--log-text/--no-log-text", help="Store the PII-redacted input text with each prediction (else only its hash).")] = True,
    redact: Annotated[bool, typer.Option("--redact/--no-redact", help="Rewrite PII in inputs before predicting and storing.")] = True,
    reload_interval: Annotated[float, typer.Option(help="Seconds between checks for a new champion (0: never).")] = 2.0,
    annotators_per_item: Annotated[int, typer.Option(help="Answers an annotation item needs (1, or 2 for agreement).")] = 1,
    retrain_budget: Annotated[str, typer.Option(help="Time budget of a retrain started from the API or UI, e.g. 10m.")] = "10m",
    retrain_margin: Annotated[float, typer.Option(help="Seconds beyond --retrain-budget after which such a retrain's worker process is killed and the retrain reported as failed.")] = 300.0,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Serve the web UI under /ui.")] = True,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log one line per request (the route template, never the raw path, which can hold personal data).")] = True,
) -> None:
    """Serve a model over HTTP: /v1/predict, /v1/feedback, /v1/models, /health, /metrics, /docs and the web UI."""
    try:
        import uvicorn

        from datamoat.serve.app import create_app
        from datamoat.serve.settings import ServeSettings
    except ImportError as exc:
        raise DatamoatError(f"serving needs the serve extra ({exc.name} is missing): pip install 'datamoat[serve]'.") from exc
    if annotators_per_item not in (1, 2):
        raise DatamoatError(f"--annotators-per-item is {annotators_per_item}; use 1 or 2.")
    if not retrain_margin >= 0:
        raise DatamoatError(f"--retrain-margin is {retrain_margin}; use 0 or more seconds.")
    from datamoat.budget import parse_budget

    parse_budget(retrain_budget)  # a bad --retrain-budget is an error now, not at the first retrain
    settings = ServeSettings(max_body_bytes=max_body_bytes, max_batch=max_batch, max_text_chars=max_text_chars,
                             max_generate_tokens=max_generate_tokens,
                             log_text=log_text, redact=redact, reload_interval_s=reload_interval,
                             inference_threads=threads, annotators_per_item=annotators_per_item,
                             retrain_budget=retrain_budget, retrain_margin_s=retrain_margin, access_log=access_log)
    with stage(f"loading model {model or '(the only one)'} from {workspace_dir(ctx)} and warming it up", True):
        app = create_app(workspace_dir(ctx), model_name=model, settings=settings, web=ui)
    served = app.state.dm.holder.current().record
    stdout.print(f"serving {served.ref} ({served.kind}); listening on http://{host}:{port}  "
                 f"(docs: /docs{', UI: /ui' if ui else ''}; Ctrl+C stops)", highlight=False, markup=False)
    from datamoat.serve.access_log import uvicorn_log_config

    # uvicorn's access log writes raw paths; the app logs its own line per request instead
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, log_config=uvicorn_log_config(),
                server_header=False)


keys_app = typer.Typer(help="API keys of the HTTP service (stored hashed; a key is shown once).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="admin, annotator or client.")],
    name: Annotated[str, typer.Option(help="Who or what uses it (shown in logs and the UI; annotations are signed with it).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Make a key; it is printed once and only its hash is kept."""
    from datamoat.serve.api_keys import create_key

    with open_workspace(ctx) as ws:
        key, record = create_key(ws.catalog, role, name)
    if as_json:
        print_json({"key": key, "key_id": record.key_id, "role": record.role, "name": record.name})
        return
    stdout.print(f"{key}\n(role {record.role}; id {record.key_id}; store it now: it is not shown again)",
                 highlight=False)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List keys (ids, roles, names; never the keys)."""
    from datamoat.serve.api_keys import list_keys

    with open_workspace(ctx) as ws:
        keys = list_keys(ws.catalog)
    rows = [{"key_id": k.key_id, "role": k.role, "name": k.name, "created_at": k.created_at.isoformat(),
             "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None} for k in keys]
    if as_json:
        print_json(rows)
        return
    print_table("API keys", ["id", "role", "name", "created", "revoked"],
                [[r["key_id"], r["role"], r["name"], r["created_at"][:19], (r["revoked_at"] or "")[:19]] for r in rows])


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (from `datamoat keys list`).")],
) -> None:
    """Revoke a key; a running server refuses it within its key cache time (5 s)."""
    from datamoat.serve.api_keys import revoke_key

    with open_workspace(ctx) as ws:
        revoke_key(ws.catalog, key_id)
    stdout.print(f"revoked key {key_id}", highlight=False)
