"""End to end: `python bot.py`, started for real, against a fake Discord on the loopback.

The bot gets only its ordinary settings (DISCORD_TOKEN, DISCORD_API_BASE, GUILD_IDS,
DATABASE_URL, LOG_LEVEL). The test then checks the traffic the fake really received: REST
calls under DISCORD_API_BASE with `Authorization: Bot <token>`, the gateway URL taken from
`GET {base}/gateway/bot`, IDENTIFY over that websocket, and the `/alliance` tree synced to each
guild; then the migrated database, and that the token never shows in the bot's output.

A `sitecustomize` on the child's PYTHONPATH refuses to resolve any host that is not the
loopback, so a bot that tries to reach the real Discord fails here (and says so in its stderr)
instead of touching the network.

discord.py 2.x dials its built-in gateway for a non-sharded client; `bot.cli.use_gateway_of`
makes it use the one `/gateway/bot` names, which this test proves by hosting the websocket at
a path only that answer reveals.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.settings import Settings
from tests.fake_discord import API_PREFIX, FakeDiscord, RecordedRequest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "FAKE.TOKEN.sekrit-value-123"
GUILD_IDS = (111_111_111_111_111_111, 222_222_222_222_222_222)
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0
GUARD_MARK = "e2e loopback guard"
READY_LOG = "has connected to Gateway"  # discord.py's INFO line once READY was processed

# Discord's application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2

LOOPBACK_GUARD = f'''
"""Test-only: refuse to resolve any host but the loopback (see tests/e2e/test_connected.py)."""
import socket
import sys

_getaddrinfo = socket.getaddrinfo
_LOOPBACK = {{"127.0.0.1", "::1", "localhost", b"127.0.0.1", b"::1", b"localhost"}}


def _loopback_only(host, *args, **kwargs):
    if host is not None and host not in _LOOPBACK:
        print("{GUARD_MARK}: refused to resolve %r" % (host,), file=sys.stderr, flush=True)
        raise socket.gaierror(socket.EAI_NONAME, "{GUARD_MARK}: only the loopback is reachable")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only
'''


@dataclass
class BotRun:
    process: asyncio.subprocess.Process
    stdout: Path
    stderr: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def output(self) -> str:
        """stdout and stderr so far (both go to files, so a chatty DEBUG log never blocks the bot)."""
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


def bot_env(tmp_path: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without any of the bot's own settings, plus `settings` and the guard."""
    ours = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in ours and not key.upper().startswith("ALLIANCE_")
    }
    guard = tmp_path / "loopback-guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(LOOPBACK_GUARD)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(guard), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


@asynccontextmanager
async def run_bot(tmp_path: Path, settings: Mapping[str, str]) -> AsyncIterator[BotRun]:
    """`python bot.py` in the repository root; stopped (Ctrl-C, then kill) however the test ends."""
    stdout, stderr = tmp_path / "bot.stdout", tmp_path / "bot.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "bot.py",
            cwd=REPO,
            env=bot_env(tmp_path, settings),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    run = BotRun(process, stdout, stderr)
    try:
        yield run
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Ctrl-C (the bot's clean shutdown); kill it if it is still there after SHUTDOWN_TIMEOUT."""
    try:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            with suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), SHUTDOWN_TIMEOUT)
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def find_option(options: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [option for option in options if option.get("name") == name]
    assert len(matches) == 1, f"expected one option {name!r} in {[o.get('name') for o in options]}"
    return matches[0]


def assert_alliance_tree(commands: list[dict[str, Any]]) -> None:
    alliance = find_option(commands, "alliance")
    assert alliance.get("type", 1) == 1, "alliance must be a slash (chat input) command"
    options = alliance.get("options", [])
    for group in ("group", "org", "member"):
        assert find_option(options, group)["type"] == SUB_COMMAND_GROUP, f"{group} is not a subcommand group"
    for command in ("setup", "whoami"):
        assert find_option(options, command)["type"] == SUB_COMMAND, f"{command} is not a subcommand"
    assert find_option(find_option(options, "group")["options"], "create")["type"] == SUB_COMMAND


async def test_connects_identifies_migrates_and_syncs_commands(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    async with FakeDiscord(token=TOKEN, guild_ids=GUILD_IDS) as fake:
        settings = {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": fake.api_base,
            "GUILD_IDS": ",".join(map(str, GUILD_IDS)),
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "LOG_LEVEL": "DEBUG",
        }
        async with run_bot(tmp_path, settings) as bot:

            def started() -> bool:
                return (
                    set(fake.command_syncs) == set(GUILD_IDS)
                    and any(session.identified for session in fake.gateway_sessions)
                    and READY_LOG in bot.output()
                )

            def stuck() -> bool:
                return not bot.running or GUARD_MARK in bot.output()

            ready = await fake.wait_for(started, within=STARTUP_TIMEOUT, abort=stuck)
            assert ready, (
                "bot did not sync both guilds, identify and process READY "
                + (f"within {STARTUP_TIMEOUT:.0f}s" if bot.running else f"(exited {bot.process.returncode})")
                + f"\nTraffic seen by the fake:\n{fake.summary()}\n"
                + "".join(f"{line}\n" for line in bot.output().splitlines() if GUARD_MARK in line)
                + f"Bot output (tail):\n{bot.tail()}"
            )
            assert bot.running, "the bot exited right after start-up"
        output = bot.output()
    assert bot.process.returncode == 0, f"Ctrl-C did not stop the bot cleanly:\n{bot.tail()}"

    # Loopback only, and every request under the configured base.
    assert GUARD_MARK not in output, f"the bot tried to resolve a non-loopback host:\n{bot.tail()}"
    gateway_path = urlsplit(fake.gateway_url).path
    rest = [r for r in fake.requests if r.path != gateway_path]
    assert rest, "no REST traffic reached the fake"
    assert all(r.path.startswith(API_PREFIX + "/") for r in rest), [r.path for r in rest]

    # The token travels only as `Authorization: Bot <token>` on REST calls.
    assert {r.headers.get("Authorization") for r in rest} == {f"Bot {TOKEN}"}

    def index(method: str, path: str) -> int:
        matches = [i for i, r in enumerate(fake.requests) if (r.method, r.path) == (method, path)]
        assert matches, f"no {method} {path}; traffic:\n{fake.summary()}"
        return matches[0]

    login = index("GET", f"{API_PREFIX}/users/@me")
    app_info = index("GET", f"{API_PREFIX}/oauth2/applications/@me")
    gateway_bot = index("GET", f"{API_PREFIX}/gateway/bot")
    websocket = index("GET", gateway_path)
    assert login < app_info < websocket
    assert gateway_bot < websocket, "the websocket was opened before asking GET {base}/gateway/bot"

    # The gateway: opened at the URL /gateway/bot returned, with discord.py's query, and identified.
    first = fake.gateway_sessions[0]
    upgrade: RecordedRequest = fake.requests[websocket]
    assert upgrade.headers.get("Upgrade", "").lower() == "websocket"
    assert upgrade.headers.get("Host") == urlsplit(fake.gateway_url).netloc
    assert all(session.path == gateway_path for session in fake.gateway_sessions)
    assert first.path == gateway_path
    assert first.query.get("v") == "10" and first.query.get("encoding") == "json", first.query
    assert first.error is None, first.error
    assert first.identify is not None, f"no IDENTIFY on the first gateway connection: {fake.summary()}"
    assert first.identify["token"] == TOKEN
    intents = int(first.identify["intents"])
    assert intents & (1 << 1), "the Server Members intent was not requested"
    assert intents & (1 << 15), "the Message Content intent was not requested"
    assert first.heartbeats >= 1, "no heartbeat after HELLO"

    # The `/alliance` tree went to each configured guild.
    for guild_id in GUILD_IDS:
        assert fake.requests_to("PUT", f"{API_PREFIX}/applications/{fake.application_id}/guilds/{guild_id}/commands")
        assert_alliance_tree(fake.command_syncs[guild_id])
    assert None not in fake.command_syncs, "commands were also synced globally"

    # Migrations ran: the twelve default working groups exist.
    with sqlite3.connect(database) as db:
        (groups,) = db.execute("SELECT count(*) FROM working_group WHERE NOT archived").fetchone()
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert groups == 12
    assert revision

    # The token never reaches the output, although the log is at DEBUG and not empty.
    assert "ready on sqlite" in output, bot.tail()
    assert TOKEN not in output
    assert TOKEN.split(".")[-1] not in output


@pytest.mark.parametrize(
    ("setting", "settings"),
    [
        ("DATABASE_URL", {"DATABASE_URL": "mysql://alliance:hunter2-db-secret@127.0.0.1/alliance"}),
        (
            "GUILD_IDS",
            {
                "GUILD_IDS": "abc",
                "DATABASE_URL": "postgresql+asyncpg://alliance:hunter2-db-secret@127.0.0.1:1/alliance",
            },
        ),
    ],
    ids=["database-url", "guild-ids"],
)
async def test_invalid_setting_exits_2_with_one_line(tmp_path: Path, setting: str, settings: dict[str, str]) -> None:
    async with FakeDiscord(token=TOKEN, guild_ids=GUILD_IDS) as fake:
        full = {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": fake.api_base,
            "GUILD_IDS": "1",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "LOG_LEVEL": "DEBUG",
            **settings,
        }
        async with run_bot(tmp_path, full) as bot:
            await fake.wait_for(lambda: not bot.running, within=STARTUP_TIMEOUT)
            assert not bot.running, f"bot.py kept running with an invalid {setting}:\n{bot.tail()}"
        stdout, stderr = bot.stdout.read_text(), bot.stderr.read_text()

    assert bot.process.returncode == 2, f"exit code {bot.process.returncode}:\n{stdout}{stderr}"
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert setting in lines[0], lines[0]
    assert "Traceback" not in stderr
    assert "hunter2-db-secret" not in stdout + stderr
    assert TOKEN not in stdout + stderr
    assert fake.requests == [], "the bot talked to Discord despite an invalid configuration"
