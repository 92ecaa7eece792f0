"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite gets WAL and foreign keys on every new connection through a `connect` listener on the
sync engine, as the SQLAlchemy docs recommend for pragmas: a pragma set once would not reach
connections the pool opens later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SessionFactory = async_sessionmaker[AsyncSession]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine configured for the dialect in `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Bounded waits: a database that went away makes a command fail in seconds, not hang.
    # Cached statements do not expire: asyncpg otherwise keeps a 300 s event-loop timer per
    # cached statement per connection, and its cache is already bounded (100, least recently
    # used). Those timers also kept SimCord's settle waiting for minutes in the bench.
    return create_async_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"timeout": 5, "command_timeout": 30, "max_cached_statement_lifetime": 0},
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded attributes after commit, so results can be rendered."""
    return async_sessionmaker(engine, expire_on_commit=False)


def database_unavailable(error: BaseException | None) -> bool:
    """Lost or refused database connections, pool exhaustion and lock timeouts: the action
    could not run, nothing was written (its transaction never committed)."""
    while error is not None:
        if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, ConnectionError)):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, OSError) and error.errno is not None:
            return True
        error = error.__cause__ or error.__context__
    return False


def unavailable_reason(error: BaseException) -> str:
    """A safe one-word account of why the database is unreachable: the innermost exception's
    class name (its message may quote the connection URL, password included)."""
    seen = {id(error)}
    while (inner := error.__cause__ or error.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        error = inner
    return type(error).__name__
