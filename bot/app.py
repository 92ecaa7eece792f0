"""The `commands.Bot` subclass: wiring of settings, database, services and cogs."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from bot import __version__
from bot.clock import Clock
from bot.delivery import Delivery, TimedWork
from bot.errors import AllianceError
from bot.scheduling import DigestScheduler
from bot.services.alliance import AllianceService
from bot.services.business_time import BusinessCalendar
from bot.services.cases import CaseService
from bot.services.digests import DigestService
from bot.services.health import HealthService
from bot.services.intel import ChatService, IntelService
from bot.services.networks import Correlator
from bot.services.takedown_queries import TakedownQueries
from bot.services.takedowns import TakedownService
from bot.settings import Settings
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.admin", "cogs.groups", "cogs.takedowns", "cogs.intel", "cogs.cases", "cogs.digests")


class AllianceTree(app_commands.CommandTree["AllianceBot"]):
    """Command tree with the one central error handler every command shares."""

    async def on_error(
        self, interaction: discord.Interaction[AllianceBot], error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


async def report_error(interaction: discord.Interaction[AllianceBot], error: Exception) -> None:
    """Tell the user briefly and ephemerally; keep the traceback in the log under a reference."""
    original = error.__cause__ if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, AllianceError):
        message = original.message
    elif database_unavailable(original):
        log.warning("database unavailable during %s: %s", _command_name(interaction), type(original).__name__)
        message = "The database is temporarily unavailable, so nothing was saved. Please try again in a minute."
    elif isinstance(error, app_commands.CheckFailure):
        message = str(error) or "You cannot use this command here."
    elif isinstance(error, app_commands.TransformerError):
        message = f"That value for `{error.value!s:.40}` is not valid here."
    else:
        reference = secrets.token_hex(4).upper()
        log.error(
            "error %s in %s by user %s", reference, _command_name(interaction), interaction.user.id, exc_info=error
        )
        message = f"Something went wrong on our side and nothing was changed. Error reference: `{reference}`."
    await send_ephemeral(interaction, message)


def _command_name(interaction: discord.Interaction[AllianceBot]) -> str:
    return interaction.command.qualified_name if interaction.command else "component"


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


async def send_ephemeral(interaction: discord.Interaction[AllianceBot], message: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message for interaction %s", interaction.id)


def intents() -> discord.Intents:
    """Guilds and members (role changes decide group membership); message content for the
    working-group channel listeners that recognise listing links."""
    chosen = discord.Intents.default()
    chosen.members = True
    chosen.message_content = True
    return chosen


class AllianceBot(commands.Bot):
    """The alliance bot. Services are built in `setup_hook`, once the event loop runs."""

    alliance: AllianceService

    def __init__(self, settings: Settings, *, clock: Clock = discord.utils.utcnow) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            tree_cls=AllianceTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.settings = settings
        self.clock = clock
        self.version = __version__
        self.engine = create_engine(settings.database_url.get_secret_value())
        self.sessions = create_session_factory(self.engine)
        self.alliance = AllianceService(self.sessions, clock)
        self.calendar = BusinessCalendar(settings.alliance_timezone, settings.holiday_country)
        self.takedowns = TakedownService(
            self.sessions,
            clock,
            self.calendar,
            rate_per_minute=settings.takedown_rate_per_minute,
            bulk_per_hour=settings.takedown_bulk_per_hour,
            counter_notice_days=settings.counter_notice_days,
        )
        self.takedown_queries = TakedownQueries(self.sessions, clock, self.calendar)
        correlator = Correlator(common_cap=settings.intel_common_cap)
        self.intel = IntelService(self.sessions, clock, correlator, default_region=settings.phone_region)
        self.chat = ChatService(self.sessions, clock, correlator)
        self.cases = CaseService(self.sessions, clock)
        self.health = HealthService(self.sessions)
        self.digests = DigestService(
            self.sessions, clock, self.calendar, correlator, default_timezone=settings.alliance_timezone
        )
        self.digest_scheduler = DigestScheduler(
            self.digests, clock, grace=timedelta(hours=settings.digest_grace_hours), after_run=self.delivery_kick
        )
        self.delivery = Delivery(self)
        self.delivery.timed.append(TimedWork(self.takedowns.sweep, self.takedowns.next_deadline))

    @property
    def database_backend(self) -> str:
        return make_url(self.settings.database_url.get_secret_value()).get_backend_name()

    async def setup_hook(self) -> None:
        await upgrade(self.engine)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        self.delivery.start()
        await self.digest_scheduler.start()
        log.info("alliance-bot %s ready on %s", self.version, self.database_backend)

    async def sync_commands(self) -> None:
        """Guild sync is instant (for GUILD_IDS); global sync can take up to an hour to show."""
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    def delivery_kick(self) -> None:
        self.delivery.kick()

    async def close(self) -> None:
        self.digest_scheduler.stop()
        self.digests.close()
        await self.delivery.close()
        await super().close()
        await self.engine.dispose()


def create_bot(settings: Settings, *, clock: Clock = discord.utils.utcnow) -> AllianceBot:
    return AllianceBot(settings, clock=clock)
