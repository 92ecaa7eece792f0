"""Sustained load on the real `python bot.py` process, against the fake Discord of the tests.

`python -m bench.live DATABASE_URL META.json [--seconds 60] [--rate 100] --out RESULT.json`

bench/measure.py drives the bot inside SimCord, in one process: SimCord runs one operation at a
time (so its "sustained load" is sequential, ~14 commands/s) and keeps every simulated message,
request and event in the bot's process (so its RSS and GC pauses include the simulated Discord).
Here the bot runs as deployed, a separate `python bot.py` configured by environment variables,
talking HTTP and a zlib gateway to tests/fake_discord.py on the loopback, and the load is
open-loop: one interaction is dispatched every 1/rate seconds whether or not the earlier ones
were answered, as Discord users would. What is measured:

- latency: from the dispatch of an INTERACTION_CREATE to the moment the user sees an answer
  (an immediate message or message update, or after a deferral the first edit of the response or
  the first follow-up), per command and overall; and how late the dispatches left against the
  schedule (the fake Discord shares the bench process, so a saturated bench shows up there);
- errors: interactions not acknowledged within Discord's 3-second deadline, not answered within
  15 s, answers carrying the bot's failure text, and ERROR lines or tracebacks in the bot's log;
- the bot process from /proc: RSS after start-up, its peak (VmHWM) just before it is stopped,
  and the CPU seconds it used during the load (and the bench process's own, to judge saturation
  of a shared machine).

The dataset is one of bench/generate.py; `arrange` first wires it to the fake guild directly in
the database (as tests/e2e/live_alliance.py `seed` does): the 12 working groups bound to fake
channels and roles, the guild's review channel and reviewer role, and two members per group
re-keyed to fake users, like `Bench.arrange` in bench/measure.py does through SimCord. It writes
to the database: measure a copy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bench.measure import FAILED, percentiles
from db.engine import create_engine, create_session_factory
from db.models import GuildSettings, IntelReport, IpRight, Member, Organisation, RightKind, Takedown, Tlp, WorkingGroup
from tests.e2e.live_alliance import GUILD_ID as GUILD
from tests.e2e.live_alliance import LiveBot
from tests.e2e.test_connected import TOKEN
from tests.fake_discord import FakeDiscord, Interaction

# The mix of bench/measure.py `Bench.load` (weights in percent).
MIX = (
    ("takedown check", 30),
    ("takedown status", 20),
    ("intel search", 15),
    ("intel show", 15),
    ("intel network", 10),
    ("takedown file", 5),
    ("alliance group list", 5),
)
CONFIRM = "takedown file: confirm"  # the button press after a filing's draft, not on the schedule
# What the bot's error handler (bot/app.py `AllianceTree.on_error`) tells a user when a command
# failed: each answer containing one counts as an error of that kind.
FAILURES = {
    "failure: something went wrong": FAILED[0],
    "failure: database unavailable": "The database is temporarily unavailable",
    "failure: Discord refused the answer": "Discord did not accept part of my answer",
    "refused: bot busy (MAX_CONCURRENT_COMMANDS)": "The bot is busy right now",
}
ACK_DEADLINE = 3.0  # Discord drops an interaction not acknowledged by then
ANSWER_DEADLINE = 15.0
PROGRESS_EVERY = 10.0
ACTORS_PER_GROUP = 2
PLACEHOLDERS = range(900_000_000_000_000, 900_000_001_000_000)  # bench/generate.py's member user ids
TARGETS = {"p99_ms": 100.0, "errors": 0, "peak_rss_mb": 300.0}  # issue 7

ANNOUNCEMENTS, REVIEW = 555_555_555_555_555_001, 555_555_555_555_555_002
REVIEWER_ROLE, REVIEWER = 555_555_555_555_555_003, 555_555_555_555_555_004
FIRST_ID = 555_555_555_555_556_000  # group channels, roles and actors are numbered from here


@dataclass(frozen=True)
class Actor:
    """A fake user linked to an organisation of a bound working group, and what they may look up."""

    user_id: int
    channel_id: int  # their group's channel, where they run commands
    right_id: int  # their organisation's first trademark, to file on
    takedowns: tuple[int, ...]  # their organisation's
    reports: tuple[int, ...]  # reports they may see


@dataclass(frozen=True)
class Wiring:
    """The fake guild the dataset was wired to."""

    actors: tuple[Actor, ...]
    channels: dict[int, str]
    roles: dict[int, str]
    members: dict[int, list[int]]

    def fake(self) -> FakeDiscord:
        return FakeDiscord(
            token=TOKEN,
            guild_ids=[GUILD],
            text_channels={GUILD: self.channels},
            roles={GUILD: self.roles},
            members={GUILD: self.members},
        )


async def arrange(url: str, rng: random.Random) -> Wiring:
    """Bind every live working group to a fake channel and roles, set the guild's settings, and
    link `ACTORS_PER_GROUP` fake users per group by re-keying placeholder members (a user already
    linked by an earlier run stays linked)."""
    now = datetime.now(UTC)
    ids = iter(range(FIRST_ID, FIRST_ID + 10_000))
    channels = {ANNOUNCEMENTS: "announcements", REVIEW: "takedown-review"}
    roles = {REVIEWER_ROLE: "IP Team"}
    members: dict[int, list[int]] = {REVIEWER: [REVIEWER_ROLE]}
    homes: list[tuple[int, int, int, int, int]] = []  # user, channel, organisation, group, trademark
    engine = create_engine(url)
    try:
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            await session.merge(
                GuildSettings(
                    guild_id=GUILD,
                    announcements_channel_id=ANNOUNCEMENTS,
                    review_channel_id=REVIEW,
                    reviewer_role_id=REVIEWER_ROLE,
                    admin_role_id=None,
                    timezone="Asia/Shanghai",
                    updated_at=now,
                )
            )
            groups = list(
                await session.scalars(
                    select(WorkingGroup).where(WorkingGroup.archived.is_(False)).order_by(WorkingGroup.id)
                )
            )
            for group in groups:
                group.channel_id, group.member_role_id, group.lead_role_id = next(ids), next(ids), next(ids)
                channels[group.channel_id] = group.slug
                roles[group.member_role_id], roles[group.lead_role_id] = f"{group.name} WG", f"{group.name} lead"
                await session.flush()  # one group at a time: channel ids are unique
                organisations = await session.scalars(
                    select(Organisation.id)
                    .where(Organisation.working_group_id == group.id)
                    .order_by(Organisation.id)
                    .limit(ACTORS_PER_GROUP)
                )
                for organisation in list(organisations):
                    user = next(ids)
                    trademark = await session.scalar(
                        select(IpRight.id)
                        .where(IpRight.organisation_id == organisation, IpRight.kind == RightKind.trademark)
                        .order_by(IpRight.id)
                        .limit(1)
                    )
                    if trademark is None or not await _link(session, user, organisation):
                        continue
                    members[user] = [group.member_role_id]
                    homes.append((user, group.channel_id, organisation, group.id, trademark))
        async with sessions() as session:
            actors = []
            for user, channel, organisation, group_id, trademark in homes:
                takedowns = await session.scalars(
                    select(Takedown.id).where(Takedown.organisation_id == organisation).order_by(Takedown.id).limit(500)
                )
                visible = list(
                    await session.scalars(
                        select(IntelReport.id)
                        .where(
                            IntelReport.tlp.in_([Tlp.CLEAR, Tlp.GREEN])
                            | ((IntelReport.tlp == Tlp.AMBER) & (IntelReport.working_group_id == group_id))
                        )
                        .order_by(IntelReport.id)
                        .limit(20_000)
                    )
                )
                reports = tuple(rng.sample(visible, min(len(visible), 500)))
                actor = Actor(user, channel, trademark, tuple(takedowns), reports)
                if actor.takedowns and actor.reports:
                    actors.append(actor)
    finally:
        await engine.dispose()
    if not actors:
        raise SystemExit("the dataset has no organisation with takedowns and visible reports to act for")
    return Wiring(tuple(actors), channels, roles, members)


async def _link(session: AsyncSession, user: int, organisation: int) -> bool:
    """Link `user` to `organisation` in place of one of its placeholder members (generated
    members stand for real users; re-keying keeps the member count of the dataset)."""
    if await session.get(Member, user) is not None:
        return True
    placeholder = await session.scalar(
        select(Member.user_id)
        .where(
            Member.organisation_id == organisation,
            Member.user_id >= PLACEHOLDERS.start,
            Member.user_id < PLACEHOLDERS.stop,
        )
        .order_by(Member.user_id)
        .limit(1)
    )
    if placeholder is None:
        return False
    await session.execute(update(Member).where(Member.user_id == placeholder).values(user_id=user))
    return True


@dataclass(frozen=True)
class Call:
    """One slash command a user is about to run."""

    command: str  # e.g. "takedown check"
    user_id: int
    channel_id: int
    options: dict[str, str]


class Commands:
    """The commands of `MIX`, with arguments of the kinds `Bench.commands` in bench/measure.py uses."""

    def __init__(self, wiring: Wiring, meta: dict[str, Any], rng: random.Random) -> None:
        self.actors, self.meta, self.rng = wiring.actors, meta, rng
        self.names = [name for name, weight in MIX for _ in range(weight)]
        self.filed = 0

    def next(self) -> Call:
        name = self.rng.choice(self.names)
        actor = self.rng.choice(self.actors)
        options: dict[str, str] = {}
        user = actor.user_id
        if name == "takedown check":
            urls = self.meta["listing_urls"]
            popular = self.rng.random() < 0.5  # half of the checks go to a few popular listings
            head = min(int(self.rng.paretovariate(1.2)) - 1, len(urls) - 1)
            options["url"] = urls[head] if popular else self.rng.choice(urls)
        elif name == "takedown status":
            if self.rng.random() < 0.3:  # a reviewer looking up any takedown
                user = REVIEWER
                options["id"] = f"TD-{self.rng.randint(1, self.meta['scale']['takedowns']):06d}"
            else:
                options["id"] = f"TD-{self.rng.choice(actor.takedowns):06d}"
        elif name == "takedown file":
            self.filed += 1  # a listing nobody filed yet (mostly): the filing writes
            listing = 990_000_000_000 + self.filed * 13 + self.rng.randrange(13)
            options.update(
                url=f"https://item.taobao.com/item.htm?id={listing}",
                right=str(actor.right_id),
                reason="counterfeit",
                seller="shop lucky-star",
            )
        elif name == "intel search":
            options["query"] = self.rng.choice(self.meta["search_terms"])
        elif name == "intel network":
            options["id"] = (
                f"IN-{self.rng.choice(actor.reports):06d}"
                if self.rng.random() < 0.8
                else f"wechat: lucky_{int(self.rng.paretovariate(1.0))}_star"
            )
        elif name == "intel show":
            options["id"] = f"IN-{self.rng.choice(actor.reports):06d}"
        return Call(name, user, actor.channel_id, options)


@dataclass
class Sent:
    """An interaction the load dispatched: when the schedule said, and what the fake recorded."""

    label: str
    due: float
    interaction: Interaction | None = None  # None until the dispatch task ran


def proc_memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak resident set) of a process, in MB."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0]) / 1024
    return figures


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process used so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_runqueue_wait_s(pid: int) -> float:
    """Seconds the process's threads (those alive now) spent runnable but waiting for a core
    (/proc/<pid>/task/*/schedstat, second field): the share of a busy machine it did not get."""
    waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError, IndexError, ValueError):  # a thread that ended meanwhile
            waited += int((task / "schedstat").read_text().split()[1])
    return waited / 1e9


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Load:
    """Open-loop dispatch of `Commands` at `rate` per second for `seconds`, plus the confirmation
    of each filing (pressed as soon as its draft is shown, off the schedule, as a user would)."""

    def __init__(self, fake: FakeDiscord, commands: Commands, pid: int) -> None:
        self.fake, self.commands, self.pid = fake, commands, pid
        self.sent: list[Sent] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self, seconds: float, rate: float) -> float:
        """Dispatch on schedule (each dispatch in its own task, so that a slow send never delays
        the next), printing progress; returns the wall seconds the schedule took."""
        start = time.monotonic()
        checkpoint = (start, proc_cpu_s(self.pid))
        for index in range(round(seconds * rate)):
            due = start + index / rate
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            call = self.commands.next()
            sent = Sent(call.command, due)
            self.sent.append(sent)
            self.tasks.append(asyncio.create_task(self._dispatch(sent, call)))
            if time.monotonic() - checkpoint[0] >= PROGRESS_EVERY:
                checkpoint = self._progress(start, checkpoint)
        return time.monotonic() - start

    async def _dispatch(self, sent: Sent, call: Call) -> None:
        sent.interaction = await self.fake.slash(GUILD, call.channel_id, call.user_id, call.command, **call.options)
        if call.command == "takedown file":
            await self._confirm(sent.interaction, call.user_id)

    async def _confirm(self, draft: Interaction, user_id: int) -> None:
        """Press "File takedown" once the draft is shown (a refused draft has no button)."""
        await until(lambda: draft.answered_at is not None, draft.dispatched_at + ANSWER_DEADLINE)
        if draft.original is None:
            return
        try:
            button = draft.original.custom_id("File takedown")
        except LookupError:
            return
        sent = Sent(CONFIRM, time.monotonic())
        self.sent.append(sent)
        sent.interaction = await self.fake.click(GUILD, user_id, draft.original, button)

    def _progress(self, start: float, checkpoint: tuple[float, float]) -> tuple[float, float]:
        now, cpu = time.monotonic(), proc_cpu_s(self.pid)
        interactions = [s.interaction for s in self.sent if s.interaction is not None]
        answered = [i.answered_at - i.dispatched_at for i in interactions if i.answered_at is not None]
        late = sum(1 for i in interactions if i.answered_at is None and now - i.dispatched_at > ACK_DEADLINE)
        p99 = percentiles(answered).get("p99", 0.0)
        print(
            f"  {now - start:4.0f} s: sent {len(self.sent)}, answered {len(answered)} (p99 {p99:.0f} ms), "
            f"unanswered after {ACK_DEADLINE:.0f} s {late}, bot {(cpu - checkpoint[1]) / (now - checkpoint[0]):.2f} "
            f"CPU-s/s, RSS {proc_memory_mb(self.pid).get('VmRSS', 0):.0f} MB",
            flush=True,
        )
        return now, cpu

    async def settle(self) -> None:
        """Wait for every dispatch, and for every answer up to its deadline."""
        while self.tasks:
            tasks, self.tasks = self.tasks, []
            await asyncio.gather(*tasks)  # confirmations may append more
        interactions = [s.interaction for s in self.sent if s.interaction is not None]
        deadline = max((i.dispatched_at for i in interactions), default=time.monotonic()) + ANSWER_DEADLINE
        await until(lambda: all(i.answered_at is not None for i in interactions), deadline)


async def until(condition: Callable[[], bool], deadline: float, interval: float = 0.02) -> bool:
    """Poll `condition` until it holds (True) or `deadline` (time.monotonic()) passes (False)."""
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


def classify(interaction: Interaction | None) -> str | None:
    """The error an interaction counts as, if any (the worst one)."""
    if interaction is None or interaction.answered_at is None:
        return "unanswered"
    if interaction.answered_at - interaction.dispatched_at > ANSWER_DEADLINE:
        return f"answered after {ANSWER_DEADLINE:.0f} s"
    if interaction.acknowledged_at is None or interaction.acknowledged_at - interaction.dispatched_at > ACK_DEADLINE:
        return f"acknowledged after {ACK_DEADLINE:.0f} s"
    for kind, marker in FAILURES.items():
        if any(marker in text for text in interaction.texts()):
            return kind
    return None


def read_log(stderr: str) -> tuple[int, int, int, list[str]]:
    """ERROR/CRITICAL lines, tracebacks and WARNING lines in the bot's log (`bot.logs` format:
    date time LEVEL name: message), with up to 10 of the ERROR lines as samples."""
    lines = [(line, line.split(" ", 3)[2:3]) for line in stderr.splitlines()]
    errors = [line for line, level in lines if level in (["ERROR"], ["CRITICAL"])]
    warnings = sum(1 for _, level in lines if level == ["WARNING"])
    tracebacks = stderr.count("Traceback (most recent call last)")
    return len(errors), tracebacks, warnings, [line[:300] for line in errors[:10]]


def summarise(sent: Sequence[Sent], wall_s: float) -> dict[str, Any]:
    """Latency percentiles (ms), overall (scheduled commands) and per command, and errors by kind."""
    by_command: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    samples: list[str] = []
    lags = []
    for item in sent:
        counts[item.label] += 1
        interaction = item.interaction
        if interaction is not None:
            lags.append(max(0.0, interaction.dispatched_at - item.due))
            if interaction.answered_at is not None:
                by_command[item.label].append(interaction.answered_at - interaction.dispatched_at)
        kind = classify(interaction)
        if kind is not None:
            errors[kind] += 1
            if len(samples) < 10:
                texts = interaction.texts() if interaction is not None else []
                samples.append(f"{item.label}: {kind}: {' / '.join(texts)[:200]}")
    scheduled = [s for s in sent if s.label != CONFIRM]
    return {
        "sent": len(scheduled),
        "achieved_rate": len(scheduled) / wall_s,
        "confirmations": counts[CONFIRM],
        "latency_ms": percentiles([x for name, xs in by_command.items() if name != CONFIRM for x in xs]),
        "dispatch_lag_ms": percentiles(lags),
        "by_command": {
            name: {"sent": counts[name], "answered": len(by_command[name]), "latency_ms": percentiles(by_command[name])}
            for name in sorted(counts)
        },
        "errors": dict(errors),
        "error_samples": samples,
    }


async def measure(url: str, meta: dict[str, Any], *, seconds: float, rate: float, workdir: Path) -> dict[str, Any]:
    """Wire the dataset, start `python bot.py` against a fake Discord, load it, stop it; the result
    (see the module docstring). Bot logs go to `workdir`."""
    rng = random.Random(11)
    began = time.monotonic()
    wiring = await arrange(url, rng)
    arranged_s = time.monotonic() - began
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(wiring.fake())
        bot = LiveBot(workdir, fake, url, stack)
        bot.settings.update(TAKEDOWN_RATE_PER_MINUTE="10000", ALLIANCE_TIMEZONE="Asia/Shanghai")
        began = time.monotonic()
        run = await bot.start()
        startup_s = time.monotonic() - began
        pid = run.process.pid
        after_start = proc_memory_mb(pid)
        load = Load(fake, Commands(wiring, meta, rng), pid)
        bot_cpu, bot_wait, bench_cpu = proc_cpu_s(pid), proc_runqueue_wait_s(pid), own_cpu_s()
        load_avg = os.getloadavg()
        began = time.monotonic()
        wall_s = await load.run(seconds, rate)
        await load.settle()
        elapsed = time.monotonic() - began
        bot_cpu, bench_cpu = proc_cpu_s(pid) - bot_cpu, own_cpu_s() - bench_cpu
        bot_wait = proc_runqueue_wait_s(pid) - bot_wait
        at_end = proc_memory_mb(pid)
        logged, tracebacks, warnings, log_samples = read_log(run.stderr.read_text(errors="replace"))
    result = summarise(load.sent, wall_s)
    errors = result["errors"]
    if logged:
        errors["ERROR lines in the bot's log"] = logged
    if tracebacks:
        errors["tracebacks in the bot's log"] = tracebacks
    result["error_samples"] += log_samples
    result["errors_total"] = sum(errors.values())
    latency = result["latency_ms"]
    return {
        "dialect": meta["dialect"],
        "scale": meta["scale"],
        "indicators": meta["indicators"],
        "target_rate": rate,
        "seconds": seconds,
        "schedule_s": wall_s,
        "arrange_s": arranged_s,
        **result,
        "bot": {
            "pid": pid,
            "startup_s": startup_s,
            "rss_after_start_mb": after_start.get("VmRSS"),
            "rss_end_mb": at_end.get("VmRSS"),
            "peak_rss_mb": at_end.get("VmHWM"),
            "cpu_s": bot_cpu,
            "cpu_per_wall_s": bot_cpu / elapsed,
            "runqueue_wait_s": bot_wait,
            "runqueue_wait_per_wall_s": bot_wait / elapsed,
            "log_warnings": warnings,
        },
        "bench_process": {
            "cpu_s": bench_cpu,
            "cpu_per_wall_s": bench_cpu / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "machine": {"cores": os.cpu_count(), "loadavg_before": load_avg, "loadavg_after": os.getloadavg()},
        "targets": TARGETS,
        "meets": {
            "p99_ms": latency.get("n", 0) > 0 and latency["p99"] <= TARGETS["p99_ms"],
            "errors": result["errors_total"] <= TARGETS["errors"],
            "peak_rss_mb": (at_end.get("VmHWM") or 0.0) <= TARGETS["peak_rss_mb"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the generated database (it is written to: measure a copy)")
    parser.add_argument("meta", help="bench/generate.py's metadata for it")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=100.0, help="interactions dispatched per second")
    parser.add_argument("--out", required=True)
    parser.add_argument("--logs", metavar="DIR", help="keep the bot's stdout and stderr here (default: discarded)")
    args = parser.parse_args()
    with open(args.meta, encoding="utf-8") as handle:
        meta = json.load(handle)
    with tempfile.TemporaryDirectory(prefix="alliance-live-") as scratch:
        workdir = Path(args.logs or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(measure(args.url, meta, seconds=args.seconds, rate=args.rate, workdir=workdir))
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    latency, bot = result["latency_ms"], result["bot"]
    print(
        f"{result['sent']} sent at {result['achieved_rate']:.1f}/s: p50 {latency.get('p50', 0):.0f} ms, "
        f"p99 {latency.get('p99', 0):.0f} ms, max {latency.get('max', 0):.0f} ms; errors {result['errors']}; "
        f"bot peak RSS {bot['peak_rss_mb']:.0f} MB, {bot['cpu_per_wall_s']:.2f} CPU-s/s "
        f"(bench {result['bench_process']['cpu_per_wall_s']:.2f})"
    )


if __name__ == "__main__":
    main()
