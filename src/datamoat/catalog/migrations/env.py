"""Alembic environment for the datamoat catalog.

Run programmatically by :func:`datamoat.catalog.migrate.upgrade`, which passes an open
connection in ``config.attributes["connection"]``; there is no alembic.ini.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
