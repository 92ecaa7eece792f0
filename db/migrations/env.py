"""Alembic environment.

The application runs migrations on a connection it already holds (`db.migrate.upgrade`), the
"connection sharing" recipe from Alembic's cookbook, so no second event loop is started. The
`alembic` command line (for writing new revisions) gets its URL from the bot's settings.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from db.models import Base

config = context.config
target_metadata = Base.metadata


# Full-text search objects are raw DDL (0004): autogenerate must not try to drop them.
RAW_DDL = {("table", "intel_fts"), ("column", "search")}


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (reflected and (type_, name) in RAW_DDL) and not (name or "").startswith("intel_fts_")


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from bot.settings import load_settings
    from db.engine import create_engine

    engine = create_engine(load_settings().database_url.get_secret_value())
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `python bot.py db upgrade`")

shared = config.attributes.get("connection")
if shared is not None:
    run_on(shared)
else:
    asyncio.run(run_from_settings())
