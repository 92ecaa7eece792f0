"""The outbox delivery worker and the bot's timekeeping loop.

One `tasks.loop` does all timed work: it runs the takedown sweep (SLA alerts, counter-notice
deadlines), then posts what the outbox holds, then sleeps until the next thing is due (at most
ten minutes, so work enqueued by another process is picked up). `kick()` wakes it at once after
a command has enqueued something. Because the database is the source of truth, a restart loses
nothing: the first iteration after start-up catches up.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import tasks

from bot.services.outbox import OutboxService
from db.models import OutboxMessage

if TYPE_CHECKING:
    from bot.app import AllianceBot

log = logging.getLogger(__name__)

MAX_SLEEP = timedelta(hours=1)  # bounds how late this process notices work another process scheduled
MIN_SLEEP = timedelta(seconds=1)
LEASE = timedelta(minutes=2)  # a crashed attempt is retried after this
PERMANENT_CODES = {10003, 10008, 50001, 50013}  # unknown channel/message, missing access/permissions


def nonce_of(message: OutboxMessage) -> str:
    """The same nonce on every attempt (and from every process) for one outbox message: with
    discord.py's `enforce_nonce`, Discord drops a repeat of a post it already accepted if a crash
    came between its answer and our marking it delivered (for a few minutes; the outbox's claim
    covers the rest)."""
    return f"outbox-{message.id}"


class Undeliverable(Exception):
    """Raised by a `ViewKind.act` when what it would do cannot be done at all (the outbox records
    the message as skipped with this reason, rather than retrying it)."""


@dataclass(frozen=True)
class TimedWork:
    """Work the loop runs when its next deadline has come (e.g. the takedown SLA sweep)."""

    run: Callable[[], Awaitable[object]]
    next_deadline: Callable[[], Awaitable[datetime | None]]


@dataclass(frozen=True)
class ViewKind:
    """How to rebuild the components of an outbox message, and what to do once it is posted."""

    build: Callable[[dict[str, Any]], discord.ui.View | None]
    delivered: Callable[[dict[str, Any], discord.Message], Awaitable[None]] | None = None
    # For a DM: may this user still receive it? (checked at delivery time, with their current roles)
    audience: Callable[[dict[str, Any], int], Awaitable[bool]] | None = None
    # Instead of posting `content`: another Discord action (e.g. opening a thread), returning the
    # id of what it made. It gets the outbox's retries, backoff and recorded failure all the same.
    act: Callable[[OutboxMessage], Awaitable[int | None]] | None = None


class Delivery:
    def __init__(self, bot: AllianceBot) -> None:
        self.bot = bot
        self.outbox = OutboxService(bot.sessions)
        self.views: dict[str, ViewKind] = {}
        self.timed: list[TimedWork] = []
        self._kicks: set[asyncio.Task[None]] = set()
        self.loop = tasks.loop(seconds=MIN_SLEEP.total_seconds())(self._tick)
        self.loop.before_loop(self.bot.wait_until_ready)
        self.loop.error(self._on_loop_error)  # type: ignore[type-var]  # not a cog method: called with the error alone

    def start(self) -> None:
        if not self.loop.is_running():
            self.loop.start()

    def stop(self) -> None:
        self.loop.cancel()

    async def close(self) -> None:
        """Stop the loop and let in-flight delivery passes finish being cancelled, so no database
        connection is left open when the engine is disposed."""
        self.loop.cancel()
        pending = [task for task in (self.loop.get_task(), *self._kicks) if task is not None and not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def kick(self) -> None:
        """A command just enqueued something: deliver it now rather than at the next tick.

        A separate task, not a loop wake-up, so the command's reply never waits on Discord
        posts; claiming makes a concurrent tick and this pass never post the same message twice.
        """
        task = asyncio.get_running_loop().create_task(self._deliver_quietly())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def _deliver_quietly(self) -> None:
        try:
            await self.deliver_due()
            await self._reschedule()
        except Exception:  # the next tick retries; a failed pass must not surface as a command error
            log.exception("immediate outbox delivery failed; the timekeeping loop will retry")

    async def _reschedule(self) -> None:
        """Bring the next tick forward if what was just done created an earlier deadline."""
        wake = self.bot.clock() + await self._sleep()
        current = self.loop.next_iteration
        if self.loop.is_running() and current is not None and wake < current:
            loop = self.loop
            interval = timedelta(hours=loop.hours or 0, minutes=loop.minutes or 0, seconds=loop.seconds or 0)
            last_tick = current - interval
            self.loop.change_interval(seconds=max((wake - last_tick).total_seconds(), 0.0))

    async def _tick(self) -> None:
        now = self.bot.clock()
        for work in self.timed:
            deadline = await work.next_deadline()
            if deadline is not None and deadline <= now:
                await work.run()
        await self.deliver_due()
        self.loop.change_interval(seconds=(await self._sleep()).total_seconds())

    async def _on_loop_error(self, error: Exception) -> None:
        log.error("timekeeping loop failed; restarting it", exc_info=error)
        self.loop.change_interval(seconds=30)
        self.loop.restart()

    async def _sleep(self) -> timedelta:
        now = self.bot.clock()
        moments = [await work.next_deadline() for work in self.timed]
        moments.append(await self.outbox.next_attempt())
        soonest = min((moment for moment in moments if moment is not None), default=now + MAX_SLEEP)
        return min(max(soonest - now, MIN_SLEEP), MAX_SLEEP)

    async def deliver_due(self) -> int:
        delivered = 0
        for message in await self.outbox.due(self.bot.clock()):
            if await self.outbox.claim(message.id, message.attempts, self.bot.clock(), LEASE):
                delivered += await self._attempt(message)
        return delivered

    async def _attempt(self, message: OutboxMessage) -> int:
        kind = self.views.get(str((message.view or {}).get("kind")))
        audience = kind.audience if kind is not None else None
        spec, user = message.view or {}, message.user_id
        if audience is not None and user is not None and not await audience(spec, user):
            await self.outbox.skipped(message.id, "recipient may not see it", self.bot.clock())
            return 0
        try:
            if kind is not None and kind.act is not None:
                posted, made = None, await kind.act(message)
            else:
                posted = await self._post(message)
                made = posted.id if posted else None
        except discord.HTTPException as error:
            permanent = error.code in PERMANENT_CODES or error.status in (400, 403, 404)
            reason = f"HTTP {error.status}" + (f" (Discord code {error.code})" if error.code else "")
            await self.outbox.failed_attempt(message.id, reason, self.bot.clock(), permanent=permanent)
            log.warning("outbox %s: Discord answered %s (%s)", message.id, error.status, error.code)
            return 0
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            await self.outbox.failed_attempt(message.id, type(error).__name__, self.bot.clock())
            return 0
        except Undeliverable as error:
            await self.outbox.skipped(message.id, str(error), self.bot.clock())
            return 0
        await self.outbox.delivered(message.id, made, self.bot.clock())
        if posted is not None and kind is not None and kind.delivered is not None and message.edit_message_id is None:
            try:
                await kind.delivered(message.view or {}, posted)
            except Exception:  # the message is out; a failed follow-up step must not hold up the rest
                log.exception("outbox %s: posted, but its after-delivery step failed", message.id)
        return 1

    async def _post(self, message: OutboxMessage) -> discord.Message | None:
        view = self._view(message)
        mentions = discord.AllowedMentions.none()
        if message.ping_user_id:
            mentions = discord.AllowedMentions(
                users=[discord.Object(message.ping_user_id)], everyone=False, roles=False
            )
        elif message.ping_role_id:
            mentions = discord.AllowedMentions(
                roles=[discord.Object(message.ping_role_id)], everyone=False, users=False
            )
        if message.user_id is not None:
            return await self._direct(message, view, mentions)
        assert message.channel_id is not None
        channel = self.bot.get_partial_messageable(message.channel_id)
        if message.edit_message_id is not None:
            return await channel.get_partial_message(message.edit_message_id).edit(
                content=message.content, view=view, allowed_mentions=mentions
            )
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        if message.attachment is not None:
            kwargs["file"] = discord.File(io.BytesIO(message.attachment), filename=message.attachment_name or "file")
        return await channel.send(message.content, allowed_mentions=mentions, nonce=nonce_of(message), **kwargs)

    async def _direct(
        self, message: OutboxMessage, view: discord.ui.View | None, mentions: discord.AllowedMentions
    ) -> discord.Message | None:
        """A DM; if the user does not accept DMs, the fallback channel, mentioning only them."""
        assert message.user_id is not None
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        try:
            user = self.bot.get_user(message.user_id) or await self.bot.fetch_user(message.user_id)
            return await user.send(
                message.content, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce_of(message), **kwargs
            )
        except discord.Forbidden:
            if message.fallback_channel_id is None:
                raise
        channel = self.bot.get_partial_messageable(message.fallback_channel_id)
        return await channel.send(
            f"<@{message.user_id}> {message.content}", allowed_mentions=mentions, nonce=nonce_of(message), **kwargs
        )

    def _view(self, message: OutboxMessage) -> discord.ui.View | None:
        if not message.view:
            return None
        kind = self.views.get(str(message.view.get("kind")))
        return kind.build(message.view) if kind is not None else None
