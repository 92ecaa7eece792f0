"""The command line as an operator uses it: `python bot.py db …` and the `alliance-bot` script."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], database: Path | str) -> subprocess.CompletedProcess[str]:
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    upgraded = run([sys.executable, "bot.py", "db", "upgrade"], database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision" in upgraded.stdout
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM working_group").fetchone() == (12,)
    current = run([sys.executable, "bot.py", "db", "current"], database)
    head = upgraded.stdout.split("(head ")[1].rstrip(")\n")
    assert f"revision {head} (head {head})" in current.stdout


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "alliance-bot"
    if not script.exists():
        pytest.fail(f"the alliance-bot console script is missing next to {sys.executable}: install the project")
    result = run([str(script), "db", "current"], tmp_path / "script.db")
    assert result.returncode == 0, result.stderr
    assert "database at revision None" in result.stdout


@pytest.mark.parametrize("action", ["upgrade", "current"])
def test_db_command_names_the_database_when_it_cannot_connect(action: str) -> None:
    """Not DISCORD_API_BASE, which `db` never uses, and not the password."""
    result = run([sys.executable, "bot.py", "db", action], "postgresql+asyncpg://alliance:Sekr3t@127.0.0.1:1/alliance")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("DATABASE_URL: cannot open the database: cannot connect")
    assert "Sekr3t" not in result.stdout + result.stderr
