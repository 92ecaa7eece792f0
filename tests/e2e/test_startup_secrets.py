"""Start-up failures: `python bot.py` says what is wrong in one line and never shows a secret.

Each case starts the real process (see tests/e2e/test_connected.py) with a distinctive token and
database password, at LOG_LEVEL=DEBUG so every log line that could carry them is written, and
makes start-up fail one way: an unreachable or refusing database, a malformed URL (a raw '@' in
the password, a port that is not a number), an unknown driver, a broken TOML file holding the
token, a token Discord refuses (401), an unreachable DISCORD_API_BASE, a failing migration, an
exception raised inside `setup_hook`, or Ctrl-C while start-up waits. The output must not contain
either secret, nor its URL-encoded or base64 form; a failure exits non-zero with a last line
naming the setting or step (no traceback), and Ctrl-C exits cleanly. The last test prints
`start-up failure paths: N checked`.
"""

from __future__ import annotations

import base64
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.test_connected import GUILD_IDS, STARTUP_TIMEOUT, run_bot
from tests.fake_discord import FakeDiscord
from tests.figures import record

TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Gx-leak.tok+Sekr3t/Zz"
PASSWORD = "pw+Sekr3t/Qq@db"  # URL-encoded in DATABASE_URL, as an operator must write it
PG = os.environ.get("TEST_DATABASE_URL", "").strip()
RAW_ERROR = re.compile(r"[\w.]+(Error|Exception|Failure)\b")  # an exception's own line, not a sentence


def forms(secret: str) -> list[str]:
    """The ways a secret could show: as is, URL-encoded, base64, and its distinctive middle."""
    return [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(), "Sekr3t"]


def pg_url(host: str = "127.0.0.1", port: str = "", database: str = "alliance") -> str:
    return f"postgresql+asyncpg://alliance:{quote(PASSWORD, safe='')}@{host}{port}/{database}"


@dataclass(frozen=True)
class Case:
    settings: dict[str, str | None]  # None: the setting is not in the environment
    names: str  # what the last line must name
    token: str = TOKEN  # the token the fake Discord accepts
    config: str | None = None  # TOML written to a file named by ALLIANCE_CONFIG
    interrupt: Callable[[FakeDiscord], bool] | None = None  # Ctrl-C once this holds
    crash: bool = False  # an unexpected exception quoting both secrets, raised while logging in


# Test-only, loaded by the child's sitecustomize: the loopback guard, then an unexpected crash whose
# message quotes the token and the database URL, as a careless library error might.
CRASH = """
import os, runpy
runpy.run_path(os.environ["LOOPBACK_GUARD_FILE"])
import discord

async def _crash(self, *args, **kwargs):
    token, url = os.environ["DISCORD_TOKEN"], os.environ["DATABASE_URL"]
    raise RuntimeError(f"unexpected failure with token {token} on {url}")

discord.Client.login = _crash
"""


def sqlite(tmp: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp / 'bot.db'}"


NO_ENV: dict[str, str | None] = {"DISCORD_TOKEN": None, "GUILD_IDS": None}  # taken from the TOML file
CASES: dict[str, Callable[[Path], Case]] = {
    "database-refused": lambda tmp: Case({"DATABASE_URL": pg_url(port=":1")}, "DATABASE_URL"),
    "database-unknown-host": lambda tmp: Case({"DATABASE_URL": pg_url(host="db.invalid")}, "DATABASE_URL"),
    "database-malformed": lambda tmp: Case(
        {"DATABASE_URL": f"postgresql+asyncpg://alliance:{PASSWORD}@[db/alliance"}, "DATABASE_URL: the host"
    ),
    "database-password-not-encoded": lambda tmp: Case(  # read as host "db@db.example": not a DNS failure
        {"DATABASE_URL": f"postgresql+asyncpg://alliance:{PASSWORD}@db.example/alliance"},
        "DATABASE_URL: the host contains '@' (an '@' in the password?): percent-encode",
    ),
    "database-unparseable": lambda tmp: Case(  # read as port "5432@127.0.0.1"
        {"DATABASE_URL": f"postgresql+asyncpg://alliance:{PASSWORD}:5432@127.0.0.1/alliance"},
        "DATABASE_URL: is not a valid URL",
    ),
    "database-unknown-driver": lambda tmp: Case(
        {"DATABASE_URL": f"mysql+aiomysql://alliance:{quote(PASSWORD, safe='')}@127.0.0.1/alliance"}, "DATABASE_URL"
    ),
    "config-malformed-toml": lambda tmp: Case(
        NO_ENV, "ALLIANCE_CONFIG", config=f'discord_token = "{TOKEN}"\nlog_level = \n'
    ),
    "config-invalid-value": lambda tmp: Case(
        NO_ENV, "GUILD_IDS", config=f'discord_token = "{TOKEN}"\nguild_ids = "{TOKEN}"\n'
    ),
    "token-refused": lambda tmp: Case({"DATABASE_URL": sqlite(tmp)}, "DISCORD_TOKEN", token="another-token"),
    "api-unreachable": lambda tmp: Case(
        {"DATABASE_URL": sqlite(tmp), "DISCORD_API_BASE": "http://127.0.0.1:1/api/v10"}, "DISCORD_API_BASE"
    ),
    "migration-fails": lambda tmp: Case({"DATABASE_URL": sqlite(tmp / "not-a-database.db")}, "database"),
    "setup-hook-raises": lambda tmp: Case(
        {"DATABASE_URL": sqlite(tmp), "GUILD_IDS": "333333333333333333"}, "GUILD_IDS"
    ),
    "unexpected-crash-quoting-secrets": lambda tmp: Case(
        {"DATABASE_URL": pg_url(port=":1")},
        "Start-up failed",
        crash=True,
    ),
    "ctrl-c-during-start-up": lambda tmp: Case(
        {"DATABASE_URL": sqlite(tmp)}, "", interrupt=lambda fake: bool(fake.requests_to("GET", "/api/v10/users/@me"))
    ),
}
if PG:  # the real server: it answers, and refuses the password / knows no such database
    CASES["database-wrong-password"] = lambda tmp: Case(
        {"DATABASE_URL": pg_url(database=PG.rsplit("/", 1)[-1])}, "user name or password"
    )
    CASES["database-missing"] = lambda tmp: Case(
        {"DATABASE_URL": PG.rsplit("/", 1)[0] + "/alliance_no_such_db"}, "does not exist"
    )


@pytest.mark.parametrize("case", CASES)
async def test_start_up_failure_is_one_line_without_secrets(tmp_path: Path, case: str) -> None:
    spec = CASES[case](tmp_path)
    (tmp_path / "not-a-database.db").write_bytes(b"this is not an SQLite database file " * 40)
    chosen = {"DISCORD_TOKEN": TOKEN, "GUILD_IDS": str(GUILD_IDS[0]), "LOG_LEVEL": "DEBUG", **spec.settings}
    settings = {name: value for name, value in chosen.items() if value is not None}
    if spec.config is not None:
        config = tmp_path / "alliance.toml"
        config.write_text(spec.config)
        settings["ALLIANCE_CONFIG"] = str(config)
    if spec.crash:
        crash = tmp_path / "crash"
        crash.mkdir()
        (crash / "sitecustomize.py").write_text(CRASH)
        guard = tmp_path / "loopback-guard"
        settings["PYTHONPATH"] = os.pathsep.join([str(crash), str(guard)])
        settings["LOOPBACK_GUARD_FILE"] = str(guard / "sitecustomize.py")
    async with FakeDiscord(token=spec.token, guild_ids=GUILD_IDS) as fake:
        settings.setdefault("DISCORD_API_BASE", fake.api_base)
        async with run_bot(tmp_path, settings) as bot:
            interrupt = spec.interrupt
            if interrupt is not None:
                assert await fake.wait_for(lambda: interrupt(fake), within=STARTUP_TIMEOUT), bot.tail()
                bot.process.send_signal(signal.SIGINT)
            await fake.wait_for(lambda: not bot.running, within=STARTUP_TIMEOUT)
            assert not bot.running, f"{case}: bot.py kept running:\n{bot.tail()}"
        output = bot.output()
    for secret in (TOKEN, PASSWORD):
        shown = [form for form in forms(secret) if form in output]
        assert not shown, f"{case}: {shown} in the output:\n{output}"
    if not spec.crash:  # an unexpected error keeps its (masked) traceback in the log
        assert "Traceback" not in output, f"{case}: a traceback reached the output:\n{output}"
    if spec.interrupt is not None:
        assert bot.process.returncode == 0, f"{case}: Ctrl-C exited {bot.process.returncode}:\n{bot.tail()}"
    else:
        assert bot.process.returncode not in (0, None), f"{case}: exited 0:\n{output}"
        last = bot.stderr.read_text().strip().splitlines()[-1]
        assert spec.names in last and not RAW_ERROR.match(last), f"{case}: last line {last!r}"
    record("secrets kept out of start-up failures", "paths checked")

