"""The `commands.Bot` subclass: wiring of settings, database, services and cogs."""

from __future__ import annotations

import gc
import logging
import secrets
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.engine import make_url

from bot import __version__
from bot.admission import CommandGate
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
from bot.settings import ConfigurationError, Settings
from db.engine import create_engine, create_session_factory, database_unavailable
from db.migrate import refresh_statistics, upgrade

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.admin", "cogs.groups", "cogs.takedowns", "cogs.intel", "cogs.cases", "cogs.digests")


class AllianceTree(app_commands.CommandTree["AllianceBot"]):
    """Command tree with the one central error handler every command shares, and the gate
    every slash command passes (bot/admission.py)."""

    async def _call(self, interaction: discord.Interaction[AllianceBot]) -> None:
        # Autocomplete is not gated: it is cheap, and a refusal is no answer to it.
        if interaction.type is not discord.InteractionType.application_command:
            return await super()._call(interaction)
        gate = self.client.gate
        if not gate.try_enter():
            if gate.refused % 100 == 1:  # the first refusal of a burst, then every 100th
                log.warning("busy: %d commands in flight, %d refused since start", gate.running, gate.refused)
            await send_ephemeral(interaction, gate.busy_message())
            return None
        try:
            return await super()._call(interaction)
        finally:
            gate.leave()

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
    elif isinstance(original, discord.HTTPException):
        # Discord refused one of our calls (often the reply itself), possibly after the action
        # committed: saying "nothing was changed" here could be a lie.
        log.warning(
            "Discord answered %s (code %s) during %s", original.status, original.code, _command_name(interaction)
        )
        message = (
            f"Discord did not accept part of my answer (HTTP {original.status}). What you asked for may "
            "already be saved: check before repeating it (takedowns are never filed twice)."
        )
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


def database_problem(error: BaseException) -> str:
    """One line for a database that cannot be opened or migrated at start-up. Only exception
    class names are shown: driver messages may quote the URL, and the URL holds the password."""
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in causes:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    names = {type(c).__name__ for c in causes}
    root = type(causes[-1]).__name__
    if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
        reason = "the server refused the user name or password."
    elif names & {"InvalidCatalogNameError"}:
        reason = "the database does not exist."
    elif any(isinstance(c, OSError) for c in causes):
        reason = f"cannot connect ({root})."
    else:
        reason = f"it could not be read or migrated ({root}); is it this bot's database?"
    return f"DATABASE_URL: cannot open the database: {reason}"


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
        self.gate = CommandGate(settings.max_concurrent_commands)
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
        try:
            await upgrade(self.engine)
            await refresh_statistics(self.engine)
        except Exception as error:
            raise ConfigurationError(database_problem(error)) from error
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        try:
            await self.sync_commands()
        except discord.HTTPException as error:
            where = "GUILD_IDS" if self.settings.guild_ids else "DISCORD_TOKEN"
            raise ConfigurationError(
                f"{where}: Discord refused the command sync ({error.status} {error.text[:80]}); "
                "is the bot in every server GUILD_IDS names, with the applications.commands scope?"
            ) from error
        self.delivery.start()
        await self.digest_scheduler.start()
        self.digest_scheduler.scheduler.add_job(
            refresh_statistics, "interval", days=1, args=[self.engine], id="statistics", name="planner statistics"
        )
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


# Young-generation passes between full collections: 100 rather than CPython's 10. Once the
# start-up heap is frozen, CPython's other brake on full passes (wait until the long-lived objects
# awaiting one are a quarter of those it tracks) compares against a small set and no longer holds
# them back: at 1M indicators a full pass (~15-20 ms) then ran every ~60 commands and sat in the
# p99 of each read command. Probe of 1,500 reads, twice each: full passes 24 -> 3, p99 of
# /intel show 41-42 -> 23 ms, /takedown check 34 -> 17-20, /intel search 39-48 -> 26-31. A full
# pass still runs every ~700,000 net allocations; the real bot's peak RSS under load rose ~13 MB.
FULL_COLLECTION_EVERY = 100


def freeze_startup_heap() -> None:
    """Keep the garbage collector's full passes to what requests create, and rarer.

    What start-up made (modules, mappers, the command tree, compiled templates) lives as long
    as the process, yet every full collection walked it again: in the bench those pauses were
    110–210 ms and made most of the commands' p99. Frozen objects are skipped; collecting first
    leaves no start-up garbage behind in the frozen set. Only for a process that runs one bot
    for its lifetime (`python bot.py`), not a test process that makes hundreds."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def create_bot(settings: Settings, *, clock: Clock = discord.utils.utcnow) -> AllianceBot:
    return AllianceBot(settings, clock=clock)
