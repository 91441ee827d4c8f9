"""The ``datamoat`` command line: thin Typer commands that call the library and print."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from datamoat import __version__
from datamoat.cli import (
    data_commands,
    demo_commands,
    feedback_commands,
    flywheel_commands,
    lm_commands,
    model_commands,
    monitor_commands,
    pipeline_commands,
    privacy_commands,
    quality_commands,
    serve_commands,
)
from datamoat.cli.context import workspace_dir
from datamoat.cli.noise import third_party_to_log
from datamoat.cli.output import error, warnings_on_terminal
from datamoat.errors import DatamoatError

app = typer.Typer(
    name="datamoat",
    help="Turn your own data into a trained, evaluated, privacy-safe model that keeps improving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Workspace directory (default: $DATAMOAT_WORKSPACE or the current one)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    ctx.obj = {"workspace": workspace}
    # library warnings and progress bars go to .datamoat/logs/datamoat.log, not the terminal
    ctx.with_resource(third_party_to_log(workspace_dir(ctx)))


for command in (
    data_commands.init,
    data_commands.ingest,
    data_commands.datasets,
    data_commands.versions,
    data_commands.show,
    data_commands.diff,
    data_commands.export,
    data_commands.excluded,
    quality_commands.profile,
    quality_commands.clean,
    pipeline_commands.apply,
    pipeline_commands.steps,
    privacy_commands.anonymize,
    privacy_commands.encrypt,
    privacy_commands.decrypt,
    privacy_commands.keygen,
    demo_commands.demo_data,
    demo_commands.run,
    model_commands.train,
    model_commands.models,
    model_commands.evaluate,
    model_commands.compare,
    model_commands.explain,
    model_commands.compress,
    model_commands.export_model,
    model_commands.alias,
    lm_commands.generate,
    monitor_commands.monitor,
    flywheel_commands.retrain,
    flywheel_commands.promotions,
    serve_commands.serve,
):
    app.command(name=command.__name__.replace("_", "-"))(command)


app.add_typer(privacy_commands.pii_app, name="pii")
app.add_typer(privacy_commands.dp_app, name="dp")
app.add_typer(privacy_commands.audit_app, name="audit")
app.add_typer(feedback_commands.feedback_app, name="feedback")
app.add_typer(serve_commands.keys_app, name="keys")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 usage error, 3 internal error)."""
    try:
        # standalone mode: usage errors print their message and raise SystemExit(2)
        with warnings_on_terminal():
            app(args=argv, prog_name="datamoat")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except DatamoatError as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted; nothing was changed by the unfinished command.")
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on request
        if os.environ.get("DATAMOAT_DEBUG"):
            traceback.print_exc()
        error(f"internal error: {type(exc).__name__}: {exc} (set DATAMOAT_DEBUG=1 for the traceback).")
        return 3
    return 0


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
