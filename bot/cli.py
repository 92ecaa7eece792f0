"""Command line: `python bot.py` / `alliance-bot`.

- with DISCORD_TOKEN set: connect to Discord (or to DISCORD_API_BASE) and serve;
- without a token: the offline sandbox (the real bot against a simulated alliance server);
- `db upgrade` / `db current`: manage the schema without starting the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from urllib.parse import quote, quote_plus

import aiohttp
import discord
import yarl
from sqlalchemy.engine import make_url

from bot.settings import ConfigurationError, Settings, load_settings

log = logging.getLogger("alliance")


def secrets_of(settings: Settings) -> list[str]:
    """Values that must never reach a log line: the token and the database password, also as
    they appear inside a URL (the password as written in DATABASE_URL, percent-encoded, and
    decoded), since driver and library errors may quote the URL."""
    values = [settings.discord_token.get_secret_value()] if settings.discord_token else []
    url = settings.database_url.get_secret_value()
    password = make_url(url).password
    if password:
        values.append(str(password))
    credentials, at, _host = url.partition("://")[2].rpartition("@")
    if at and ":" in credentials:
        values.append(credentials.partition(":")[2])  # exactly as the operator wrote it
    return [form for value in values for form in {value, quote(value, safe=""), quote_plus(value)}]


def use_api_base(base: str) -> None:
    """Send all REST traffic to `base` (the gateway URL then comes from `use_gateway_of`)."""
    discord.http.Route.BASE = base


async def use_gateway_of(bot: discord.Client) -> None:
    """Connect to the gateway that `GET {base}/gateway/bot` names. discord.py 2.x never asks for a
    non-sharded client: it dials its built-in `wss://gateway.discord.gg/` whatever the API base."""
    _shards, url, _limits = await bot.http.get_bot_gateway()
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


async def run_connected(settings: Settings) -> None:
    from bot.app import create_bot, freeze_startup_heap

    assert settings.discord_token is not None
    use_api_base(settings.discord_api_base)
    bot = create_bot(settings)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # process managers stop services with SIGTERM
        loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(bot.close()))
    async with bot:
        await bot.login(settings.discord_token.get_secret_value())  # runs setup_hook
        freeze_startup_heap()
        await use_gateway_of(bot)
        await bot.connect()


async def db_command(settings: Settings, action: str) -> None:
    """Failures are reported as the bot's start-up reports them: naming DATABASE_URL (they would
    otherwise reach main's OSError branch, which blames DISCORD_API_BASE)."""
    from bot.app import database_problem
    from db.engine import create_engine
    from db.migrate import current_revision, head_revision, upgrade

    engine = create_engine(settings.database_url.get_secret_value())
    try:
        if action == "upgrade":
            await upgrade(engine)
        revision = await current_revision(engine)
    except Exception as error:
        raise ConfigurationError(database_problem(error)) from error
    finally:
        await engine.dispose()
    print(f"database at revision {revision} (head {head_revision()})")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="alliance-bot",
        description="Discord bot of an anti-counterfeiting alliance. Without DISCORD_TOKEN it starts "
        "an offline sandbox you can try in a browser.",
    )
    commands = root.add_subparsers(dest="command")
    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=("upgrade", "current"))
    sandbox = commands.add_parser("sandbox", help="start the offline sandbox even if a token is set")
    sandbox.add_argument("--port", type=int, default=None, help="preview port (default: any free port)")
    return root


def _stop_like_ctrl_c(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    from bot.logs import configure_logging

    configure_logging(settings.log_level, secrets_of(settings))
    try:
        if args.command == "db":
            asyncio.run(db_command(settings, args.action))
        elif args.command == "sandbox" or settings.discord_token is None:
            from bot.sandbox import run_sandbox

            signal.signal(signal.SIGTERM, _stop_like_ctrl_c)  # so the preview and database close cleanly
            asyncio.run(run_sandbox(settings, port=getattr(args, "port", None)))
        else:
            asyncio.run(run_connected(settings))
    except KeyboardInterrupt:
        return 0
    except ConfigurationError as error:  # found during start-up: the database, the command sync
        print(error, file=sys.stderr)
        return 2
    except discord.LoginFailure:
        print("DISCORD_TOKEN: Discord refused the token (check it in the developer portal).", file=sys.stderr)
        return 2
    except discord.GatewayNotFound:
        print(
            "DISCORD_API_BASE: the API did not say which gateway to connect to (GET /gateway/bot failed).",
            file=sys.stderr,
        )
        return 2
    except discord.PrivilegedIntentsRequired:
        print(
            "The bot needs the Server Members and Message Content intents: enable them in the developer portal.",
            file=sys.stderr,
        )
        return 2
    except (aiohttp.ClientError, OSError) as error:  # the database's are ConfigurationErrors by now
        print(f"DISCORD_API_BASE: cannot reach {settings.discord_api_base} ({type(error).__name__}).", file=sys.stderr)
        return 2
    except Exception as error:
        log.critical("start-up failed", exc_info=error)  # through the log filter, which masks the secrets
        print(f"Start-up failed ({type(error).__name__}); the log above has the details.", file=sys.stderr)
        return 1
    return 0
