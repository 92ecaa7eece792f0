"""Migrations on every engine: from empty to head, down and up again; the audit log is append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.app import AllianceBot
from db.engine import create_engine
from db.migrate import current_revision, head_revision, upgrade
from db.models import AuditEntry, WorkingGroup


async def test_upgrade_is_idempotent_and_seeds_the_default_groups(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            groups = await connection.scalar(select(func.count()).select_from(WorkingGroup))
        assert groups == 12
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        from alembic import command

        from db.migrate import alembic_config

        async with engine.begin() as connection:

            def down(sync_connection: object) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.downgrade(config, "base")

            await connection.run_sync(down)
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_audit_log_refuses_update_and_delete(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                AuditEntry.__table__.insert().values(
                    at=datetime.now(UTC), actor_id=1, action="test", subject="s", details={}
                )
            )
        for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/pragmas.db")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        await engine.dispose()


async def test_the_bot_gives_sqlite_planner_statistics_at_start_up(env: object, bot: AllianceBot) -> None:
    """The bench measured plans made with statistics; a deployed SQLite database had none until
    the bot gathered them (sampled: milliseconds at any size). PostgreSQL's autovacuum keeps its
    own, and the bot leaves them to it."""
    async with bot.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            assert bot.digest_scheduler.scheduler.get_job("statistics") is not None
            return
        analysed = await connection.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1"))
        assert "working_group" in set(analysed)  # seeded by the migrations: 12 rows to describe
    assert "statistics" not in bot.digest_scheduler.next_runs(), "a maintenance job is not a digest"
    await bot.digest_scheduler.scheduler.get_job("statistics").func(bot.engine)  # the daily refresh runs again
