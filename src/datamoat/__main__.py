"""``python -m datamoat`` runs the CLI."""

from datamoat.cli.app import entry_point

entry_point()
