"""Keep third-party noise off the terminal: warnings and library logs go to the workspace log.

Libraries datamoat calls print things a user cannot act on: cleanlab and scikit-learn
``UserWarning``s, torch / ONNX export ``TracerWarning``s, Hugging Face "Loading weights" progress
bars and advisory warnings. While a command runs, :func:`third_party_to_log` sends Python
warnings (``logging.captureWarnings``) and the loggers in :data:`NOISY_LOGGERS` to
``<workspace>/.datamoat/logs/datamoat.log`` instead of stderr. It also switches the Hugging Face
progress bars and advisories off for the rest of the process: :data:`QUIET_ENV` (read by the
libraries when they are imported) and, when transformers is already imported, its verbosity.
datamoat's own warnings (``warning: ...`` lines from :mod:`datamoat.cli.output`) still reach
the terminal.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datamoat.config import STATE_DIR, find_workspace_root

LOG_FILE = Path(STATE_DIR) / "logs" / "datamoat.log"
"""The workspace log, relative to the workspace root."""

NOISY_LOGGERS: tuple[str, ...] = ("py.warnings", "transformers", "huggingface_hub", "torch", "onnx",
                                  "onnxruntime", "cleanlab", "sentence_transformers", "datasets", "urllib3",
                                  "ray", "ray.data")
"""Loggers whose records go to the log file only."""

QUIET_ENV: dict[str, str] = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # "Loading weights" / download bars of huggingface_hub
    "TRANSFORMERS_VERBOSITY": "error",  # transformers' own handler writes to stderr: only errors
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # the fork warning of tokenizers
}
"""Environment variables the libraries read when they are imported; set where unset and left
set (a library imported during the command reads them; restoring them after would change nothing)."""


def log_path(workspace: Path) -> Path:
    """The log file of the workspace at ``workspace`` or the nearest parent holding a
    ``datamoat.yaml`` (the one a command will open), else of ``workspace`` itself."""
    return (find_workspace_root(workspace) or Path(workspace).resolve()) / LOG_FILE


class _LazyFileHandler(logging.FileHandler):
    """A file handler that creates its folder on the first record (``init`` makes the workspace
    during the command) and drops records it cannot write rather than failing the command."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        super().emit(record)


@contextmanager
def third_party_to_log(workspace: Path) -> Iterator[Path]:
    """While open, Python warnings and :data:`NOISY_LOGGERS` go to the workspace log file (not
    stderr); on exit the loggers and warnings are as they were. :data:`QUIET_ENV` (where unset)
    and transformers' verbosity stay quiet for the rest of the process. Yields the log path."""
    path = log_path(workspace)
    handler = _LazyFileHandler(path)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    _hf_quiet()
    saved = []
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        elif logger.level > logging.WARNING:  # e.g. transformers at "error": its warnings reach the file
            logger.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield path
    finally:
        logging.captureWarnings(False)
        for logger, propagate, level in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()


def _hf_quiet() -> None:
    """When transformers is already imported (its environment variables are read at import time
    only): remove its own stderr handler and switch its progress bars off, for the rest of the
    process; its records then reach the log file only."""
    import sys

    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_default_handler()
        hf_logging.disable_progress_bar()
