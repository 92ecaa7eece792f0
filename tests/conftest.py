"""Shared fixtures: a database on every configured engine, and the real bot in SimCord.

Every database-touching test runs on SQLite, and also on PostgreSQL when TEST_DATABASE_URL
points at a server (CI starts one). Each PostgreSQL test gets its own database cloned from a
migrated template, so tests are isolated and need not re-run migrations.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import simcord
from discord import app_commands
from sqlalchemy.engine import make_url

from bot.app import AllianceBot, create_bot
from bot.errors import AllianceError
from bot.settings import Settings
from db.engine import SessionFactory, create_engine, create_session_factory
from db.migrate import upgrade
from tests import figures
from tests.figures import record

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
ENGINES = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
TEMPLATE = f"alliance_tpl_{uuid.uuid4().hex[:8]}"


def pytest_report_header() -> str:
    return f"database engines: {', '.join(ENGINES)}"


async def _pg_admin(statement: str) -> None:
    import asyncpg

    url = make_url(PG_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


async def _build_template() -> None:
    await _pg_admin(f'CREATE DATABASE "{TEMPLATE}"')
    engine = create_engine(_pg_url(TEMPLATE))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    asyncio.run(_build_template())
    yield TEMPLATE
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))


@pytest.fixture(params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_path: object, pg_template: str | None) -> AsyncIterator[str]:
    """A fresh, empty (SQLite) or freshly migrated (PostgreSQL) database for one test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/alliance.db"
        return
    name = f"alliance_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, discord_token=None, guild_ids=(), _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def bot(settings: Settings) -> AllianceBot:
    return create_bot(settings)


def is_expected_refusal(error: BaseException) -> bool:
    """A refusal the user is told about is behaviour, not a bug; everything else fails the test."""
    cause = error.__cause__ if isinstance(error, app_commands.CommandInvokeError) else error
    return isinstance(cause, AllianceError) or isinstance(error, app_commands.CheckFailure)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The run's own figures (see tests/figures.py), printed even when every test passed."""
    lines = figures.summary()
    if lines:
        terminalreporter.section("figures for TESTING.md")
        for line in lines:
            terminalreporter.line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_bot_errors: the test provokes a bot error on purpose")


def _count_injected_faults(environment: simcord.Env) -> list[tuple[dict[str, Any], int]]:
    """Wrap `inject_error` so the run can report how many injected error responses fired.

    SimCord counts a fault's remaining `times` down in the fault's own dict as it fires; faults
    without a limit are left out of the figure (they have no count to read).
    """
    injected: list[tuple[dict[str, Any], int]] = []
    inject = environment.inject_error

    def counting(method: str, path: str, *, times: int | None = 1, **options: Any) -> None:
        inject(method, path, times=times, **options)
        if times is not None:
            injected.append((environment.backend.faults[-1], times))

    environment.inject_error = counting  # type: ignore[method-assign]
    return injected


@pytest.fixture
async def env(bot: AllianceBot, request: pytest.FixtureRequest) -> AsyncIterator[simcord.Env]:
    """The real bot logged in to SimCord's in-memory Discord.

    Refusals (domain errors shown to the user) reach the tree's error handler by design, so
    SimCord's own error check is replaced by one that lets only those through.
    """
    environment = simcord.Env(bot, check_errors=False, settle_timeout=30)
    injected = _count_injected_faults(environment)
    await environment.start()
    try:
        yield environment
    finally:
        await environment.shutdown()
    for fault, times in injected:
        record("faults survived", f"injected HTTP {fault['status']} responses", times - max(fault["times"], 0))
    unexpected = [error for error in environment.errors if not is_expected_refusal(error)]
    if unexpected and request.node.get_closest_marker("allow_bot_errors") is None:
        raise ExceptionGroup("the bot raised unexpected errors", unexpected)  # type: ignore[type-var]


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[SessionFactory]:
    """Sessions on this test's database migrated to head, for service-level tests that seed it
    themselves."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()
