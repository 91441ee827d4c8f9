"""Bringing a catalog database to the newest schema with Alembic.

:func:`upgrade` is called every time a workspace is opened. It is cheap when the schema is
current (one query). When it is not, it takes a file lock in the workspace (and, on
PostgreSQL, an advisory lock) so that two processes opening an old workspace at once do not
both try to migrate it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from filelock import FileLock

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x6461746D  # "datm"

HEAD_REVISION = "0008"
"""The newest migration in migrations/versions (tests check it against Alembic's own view).
Kept as a constant so that opening a current workspace does not import Alembic at all."""


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration this release knows, as Alembic computes it from the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine, lock_path: Path, target: str = "head") -> None:
    """Migrate ``engine``'s database to ``target`` (default: the newest revision).

    lock_path: a file used to serialise migrations between processes on this machine.
    """
    wanted = HEAD_REVISION if target == "head" else target
    if current_revision(engine) == wanted:
        return
    with FileLock(str(lock_path), timeout=120):
        if current_revision(engine) == wanted:
            return
        from alembic import command

        cfg = _config()
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
                conn.commit()
            finally:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
                    conn.commit()
