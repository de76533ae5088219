"""Alembic environment: Podium passes an open connection in ``config.attributes``.

Run migrations through :func:`podium.memory.schema.migrate` (every store does when it opens);
to run them by hand: ``alembic -x url=sqlite:///path/store.sqlite upgrade head`` with
``script_location`` pointing at this folder.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from podium.memory.schema import target_metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("alembic needs a database: pass -x url=... or set sqlalchemy.url")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
