"""Run Alembic migrations from inside the application's event loop."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATION_LOCK_KEY = 0x616C6C79  # "ally"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction (PostgreSQL DDL is transactional)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting together must not both run the same migration.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)



async def refresh_statistics(engine: AsyncEngine) -> None:
    """Give SQLite's query planner table statistics, as PostgreSQL's autovacuum keeps its own.

    Without `sqlite_stat1` SQLite guesses every index's selectivity and, at scale, picks plans
    that read a whole status or group index (the digests and seller flags were such cases). The
    bench's generated databases were analysed but a deployed one never was, so the bench measured
    plans a deployment did not get. Run at start-up and daily (`AllianceBot.setup_hook`): 0.65 s
    at 1,000,000 indicators, in SQLite's thread. A sampled ANALYZE (`PRAGMA analysis_limit`) takes
    40 ms but reads only each index's first rows: it put 334 requests on an average listing
    (there are 3) and made the commands and digests slower than no statistics."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE")
