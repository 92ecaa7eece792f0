"""Measure the real bot, in SimCord, against a generated database (one process per dataset).

`python -m bench.measure URL META.json --calls N [--full] --out RESULT.json`. With `--full`,
everything (a, c–f); without, only the command latencies (b). Writes a JSON result. Sustained
load (g) runs on the real bot process: bench/live.py.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import io
import json
import os
import random
import resource
import sqlite3
import statistics
import tempfile
import time
import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import discord
import simcord
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, select, update

from bot.app import AllianceBot, create_bot, freeze_startup_heap
from bot.permissions import Caller
from bot.services.access import rights_of
from bot.services.takedown_csv import parse_bulk
from bot.settings import Settings
from db.models import Base, IntelIndicator, IntelReport, Member, Organisation, Takedown, Tlp, WorkingGroup

FAILED = ("Something went wrong",)


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class QueryLog:
    """Per-statement wall time on the database connection (SQLAlchemy cursor events)."""

    def __init__(self, engine: Any) -> None:
        self.active = False
        self.stats: dict[str, list[float]] = defaultdict(list)
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("bench_t", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started = conn.info["bench_t"].pop()
        if self.active:
            self.stats[" ".join(statement.split())[:300]].append(time.perf_counter() - started)

    def top(self, calls: int, n: int = 6) -> list[dict[str, Any]]:
        rows = [
            {
                "ms_per_call": sum(v) * 1000 / calls,
                "count_per_call": len(v) / calls,
                "max_ms": max(v) * 1000,
                "statement": k,
            }
            for k, v in self.stats.items()
        ]
        return sorted(rows, key=lambda r: -r["ms_per_call"])[:n]


class Bench:
    def __init__(self, url: str, meta: dict[str, Any], calls: int, full: bool) -> None:
        self.url, self.meta, self.calls, self.full = url, meta, calls, full
        self.rng = random.Random(11)
        self.result: dict[str, Any] = {
            "dialect": meta["dialect"],
            "scale": meta["scale"],
            "generation": meta["timings"],
            "indicators": meta["indicators"],
        }
        self.file_serial = 0
        self.handler_times: list[float] = []

    # ----------------------------------------------------------------- setup
    async def start(self) -> None:
        settings = Settings(
            database_url=self.url,
            discord_token=None,
            guild_ids=(),
            _env_file=None,  # type: ignore[call-arg]
            takedown_rate_per_minute=10_000,
        )
        t = time.perf_counter()
        self.bot: AllianceBot = create_bot(settings)
        # SimCord waits, before its settle deadline, for every event-loop timer due by then. asyncpg
        # used to set a 300 s expiry timer per cached statement (now off, db/engine.py): PostgreSQL
        # calls then waited up to this deadline, and once the profiles step failed on it.
        self.env = simcord.Env(self.bot, check_errors=False, settle_timeout=120)
        await self.env.start()
        self.result["startup_s"] = time.perf_counter() - t
        freeze_startup_heap()  # as `python bot.py` does once setup_hook has run
        self.result["rss_after_start_mb"] = rss_mb()
        self.queries = QueryLog(self.bot.engine)
        original = self.bot.tree._call

        async def timed(interaction: discord.Interaction[Any]) -> None:
            started = time.perf_counter()
            try:
                await original(interaction)
            finally:
                self.handler_times.append(time.perf_counter() - started)

        self.bot.tree._call = timed  # type: ignore[method-assign]
        await self.arrange()

    async def arrange(self) -> None:
        env = self.env
        guild = self.guild = env.create_guild("Alliance")
        general = self.general = guild.create_text_channel("general")
        announcements = guild.create_text_channel("announcements")
        review = guild.create_text_channel("takedown-review")
        manage = guild.create_role("Server Managers", permissions=discord.Permissions(manage_guild=True))
        reviewer_role = guild.create_role("IP Team")
        owner = self.owner = guild.add_member(env.create_user("owner"), roles=[manage])
        self.reviewer = guild.add_member(env.create_user("reviewer"), roles=[reviewer_role])
        await owner.slash(
            general,
            "alliance setup",
            announcements=announcements,
            review_channel=review,
            reviewer_role=reviewer_role,
            timezone="Asia/Shanghai",
        )
        async with self.bot.sessions() as session:
            groups = list(await session.scalars(select(WorkingGroup).order_by(WorkingGroup.id)))
            orgs = list(await session.scalars(select(Organisation).order_by(Organisation.id)))
            rights = {o.id: await rights_of(session, o.id) for o in orgs}
        self.actors: list[dict[str, Any]] = []
        for group in groups:
            channel = guild.create_text_channel(group.slug)
            role = guild.create_role(f"{group.name} WG")
            lead = guild.create_role(f"{group.name} lead")
            await owner.slash(
                general, "alliance group bind", group=group.slug, channel=channel, role=role, lead_role=lead
            )
            home_orgs = [o for o in orgs if o.working_group_id == group.id][:2]
            for k, org in enumerate(home_orgs):
                actor = guild.add_member(env.create_user(f"{group.slug}-{k}"), roles=[role])
                self.actors.append(
                    {
                        "actor": actor,
                        "org": org.id,
                        "group": group.id,
                        "channel": channel,
                        "role": role.id,
                        "right": next(r for r in rights[org.id] if r.kind.value == "trademark"),
                    }
                )
        async with self.bot.sessions.begin() as session:
            for item in self.actors:
                placeholder = await session.scalar(
                    select(Member.user_id)
                    .where(
                        Member.organisation_id == item["org"],
                        Member.user_id >= 900_000_000_000_000,
                        Member.user_id < 900_000_001_000_000,
                    )
                    .order_by(Member.user_id)
                    .limit(1)
                )
                await session.execute(
                    update(Member).where(Member.user_id == placeholder).values(user_id=item["actor"].id)
                )
        async with self.bot.sessions() as session:
            for item in self.actors:
                item["takedowns"] = list(
                    await session.scalars(
                        select(Takedown.id)
                        .where(Takedown.organisation_id == item["org"])
                        .order_by(Takedown.id)
                        .limit(500)
                    )
                )
                visible = list(
                    await session.scalars(
                        select(IntelReport.id)
                        .where(
                            (IntelReport.tlp.in_([Tlp.CLEAR, Tlp.GREEN]))
                            | ((IntelReport.tlp == Tlp.AMBER) & (IntelReport.working_group_id == item["group"]))
                        )
                        .order_by(IntelReport.id)
                        .limit(20_000)
                    )
                )
                item["reports"] = self.rng.sample(visible, min(len(visible), 500))
        self.actors = [a for a in self.actors if a["takedowns"] and a["reports"]]

    # -------------------------------------------------------------- commands
    def pick(self) -> dict[str, Any]:
        return self.rng.choice(self.actors)

    def commands(self) -> dict[str, Callable[[], Awaitable[list[tuple[str, float, Any]]]]]:
        async def one(
            name: str, actor: Any, channel: Any, command: str, **options: Any
        ) -> list[tuple[str, float, Any]]:
            t = time.perf_counter()
            result = await actor.slash(channel, command, **options)
            return [(name, time.perf_counter() - t, result)]

        async def baseline() -> list[tuple[str, float, Any]]:
            a = self.pick()
            return await one("alliance group list", a["actor"], a["channel"], "alliance group list")

        async def check() -> list[tuple[str, float, Any]]:
            a = self.pick()
            urls = self.meta["listing_urls"]
            url = (
                urls[min(int(self.rng.paretovariate(1.2)) - 1, len(urls) - 1)]
                if self.rng.random() < 0.5
                else self.rng.choice(urls)
            )
            return await one("takedown check", a["actor"], a["channel"], "takedown check", url=url)

        async def status() -> list[tuple[str, float, Any]]:
            if self.rng.random() < 0.3:
                a = self.pick()
                return await one(
                    "takedown status",
                    self.reviewer,
                    a["channel"],
                    "takedown status",
                    id=f"TD-{self.rng.randint(1, self.meta['scale']['takedowns']):06d}",
                )
            a = self.pick()
            return await one(
                "takedown status",
                a["actor"],
                a["channel"],
                "takedown status",
                id=f"TD-{self.rng.choice(a['takedowns']):06d}",
            )

        async def file() -> list[tuple[str, float, Any]]:
            a = self.pick()
            self.file_serial += 1
            url = f"https://item.taobao.com/item.htm?id={990000000000 + self.file_serial * 13 + self.rng.randrange(13)}"
            t = time.perf_counter()
            shown = await a["actor"].slash(
                a["channel"],
                "takedown file",
                url=url,
                right=str(a["right"].id),
                reason="counterfeit",
                seller="shop lucky-star",
            )
            prepared = time.perf_counter() - t
            out = [("takedown file: prepare", prepared, shown)]
            if shown.response is not None and "File takedown" in str(shown.response.components):
                t2 = time.perf_counter()
                done = await a["actor"].click(shown.response, label="File takedown")
                out.append(("takedown file: confirm", time.perf_counter() - t2, done))
                out.append(("takedown file (both)", time.perf_counter() - t, done))
            return out

        async def search() -> list[tuple[str, float, Any]]:
            a = self.pick()
            return await one(
                "intel search",
                a["actor"],
                a["channel"],
                "intel search",
                query=self.rng.choice(self.meta["search_terms"]),
            )

        async def network() -> list[tuple[str, float, Any]]:
            a = self.pick()
            target = (
                f"IN-{self.rng.choice(a['reports']):06d}"
                if self.rng.random() < 0.8
                else f"wechat: lucky_{int(self.rng.paretovariate(1.0))}_star"
            )
            return await one("intel network", a["actor"], a["channel"], "intel network", id=target)

        async def show() -> list[tuple[str, float, Any]]:
            a = self.pick()
            return await one(
                "intel show", a["actor"], a["channel"], "intel show", id=f"IN-{self.rng.choice(a['reports']):06d}"
            )

        return {
            "alliance group list": baseline,
            "takedown check": check,
            "takedown status": status,
            "takedown file": file,
            "intel search": search,
            "intel network": network,
            "intel show": show,
        }

    def forget_simulated_logs(self) -> None:
        """SimCord records every HTTP request and gateway event for test assertions; the bench
        asserts on none, and in one process with the bot those logs would count as the bot's
        memory (and its garbage collector's work). Discord keeps its history on its servers."""
        self.env.backend.http_requests.clear()
        self.env.backend.transcript.clear()

    @staticmethod
    def outcome(result: Any) -> str:
        response = result.response
        content = response.content if response is not None else ""
        if not content and result.followups:
            content = result.followups[0].content
        if any(marker in content for marker in FAILED):
            return "error"
        return "ok" if content else "empty"

    async def latencies(self) -> None:
        commands = self.commands()
        samples: dict[str, list[float]] = defaultdict(list)
        outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        errors_before = len(self.env.errors)
        self.handler_times.clear()
        handler: dict[str, list[float]] = defaultdict(list)
        spent: dict[str, float] = defaultdict(float)
        budget = 40.0  # seconds of calls per command: a pathological command is cut short (n says so)
        for i in range(self.calls):
            for name, run in commands.items():
                if spent[name] > budget:
                    continue
                began = time.perf_counter()
                before = len(self.handler_times)
                cursor = len(self.env.errors)
                for label, seconds, result in await run():
                    samples[label].append(seconds)
                    refused = len(self.env.errors) > cursor
                    outcomes[label]["refused" if refused else self.outcome(result)] += 1
                if name != "takedown file":
                    handler[name] += self.handler_times[before:]
                spent[name] += time.perf_counter() - began
            if i % 200 == 0:
                print(f"  latency round {i}/{self.calls}", flush=True)
            self.forget_simulated_logs()
        self.result["latency"] = {k: percentiles(v) for k, v in samples.items()}
        self.result["handler"] = {k: percentiles(v) for k, v in handler.items()}
        self.result["outcomes"] = {k: dict(v) for k, v in outcomes.items()}
        self.result["bot_errors"] = [repr(e)[:300] for e in self.env.errors[errors_before:]][:10]
        idle = []
        for _ in range(1000):
            t = time.perf_counter()
            await self.env.settle()
            idle.append(time.perf_counter() - t)
        self.result["settle_idle"] = percentiles(idle)

    async def profiles(self, calls: int = 30) -> None:
        """Where each command's time goes: statements (per call) and a pyinstrument text profile."""
        out: dict[str, Any] = {}
        for name, run in self.commands().items():
            self.queries.stats.clear()
            self.queries.active = True
            t = time.perf_counter()
            done = 0
            while done < calls and (done < 3 or time.perf_counter() - t < 10):
                await run()
                done += 1
            calls_made = done
            elapsed = time.perf_counter() - t
            self.queries.active = False
            out[name] = {
                "ms_per_call": elapsed * 1000 / calls_made,
                "calls": calls_made,
                "sql_ms_per_call": sum(map(sum, self.queries.stats.values())) * 1000 / calls_made,
                "statements_per_call": sum(map(len, self.queries.stats.values())) / calls_made,
                "queries": self.queries.top(calls_made),
            }
        self.result["profiles"] = out

    # --------------------------------------------------------------- (c) bulk
    def caller(self, a: dict[str, Any]) -> Caller:
        return Caller(
            user_id=a["actor"].id, guild_id=self.guild.id, role_ids=frozenset({a["role"]}), manages_guild=False
        )

    @staticmethod
    def bulk_csv(number: str, offset: int, rows: int = 10_000) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["url", "right", "reason", "seller", "note"])
        for i in range(rows):
            writer.writerow(
                [
                    f"https://www.aliexpress.com/item/{2005000000000000 + offset + i}.html?spm=x",
                    number,
                    "counterfeit",
                    f"store {i % 300}",
                    "bulk bench",
                ]
            )
        return buffer.getvalue().encode()

    async def bulk(self) -> None:
        a = self.actors[0]
        data = self.bulk_csv(a["right"].number, 0)
        t = time.perf_counter()
        rows = parse_bulk(data)
        parse_s = time.perf_counter() - t
        self.queries.stats.clear()
        self.queries.active = True
        t = time.perf_counter()
        result = await self.bot.takedowns.file_bulk(self.caller(a), "bench.csv", rows, channel_id=a["channel"].id)
        service_s = time.perf_counter() - t
        self.queries.active = False
        bulk_queries = self.queries.top(1, 8)
        filed = result.count("filed")
        # The same rows, raw: sqlite3.executemany into a scratch table with the same schema and indexes.
        async with self.bot.sessions() as session:
            stored = (await session.execute(select(Takedown.__table__).where(Takedown.bulk_id == result.bulk_id))).all()
        columns = [c.name for c in Takedown.__table__.columns]
        values = [
            tuple(
                json.dumps(v)
                if isinstance(v, list)
                else (v.isoformat() if hasattr(v, "isoformat") else (v.value if hasattr(v, "value") else v))
                for v in row
            )
            for row in stored
        ]
        with tempfile.TemporaryDirectory(prefix="bench-raw-") as scratch:
            path = os.path.join(scratch, "raw.db")
            sync = create_sync_engine(f"sqlite:///{path}")
            Base.metadata.create_all(sync, tables=[Takedown.__table__])
            sync.dispose()
            raw = sqlite3.connect(path)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")
            t = time.perf_counter()
            with raw:
                raw.executemany(
                    f"INSERT INTO takedown ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values
                )
            raw_s = time.perf_counter() - t
            raw.close()
        # Through the command: upload + "File all" (the button answers first, then files and edits).
        b = self.actors[1]
        data2 = self.bulk_csv(b["right"].number, 500_000)
        t = time.perf_counter()
        shown = await b["actor"].slash(b["channel"], "takedown bulk", csv=("bulk.csv", data2))
        validate_s = time.perf_counter() - t
        t = time.perf_counter()
        done = await b["actor"].click(shown.response, label="File all")
        click_s = time.perf_counter() - t
        final = done.response.content if done.response is not None else ""
        self.result["bulk"] = {
            "rows": len(rows),
            "filed": filed,
            "parse_s": parse_s,
            "service_s": service_s,
            "raw_executemany_s": raw_s,
            "ratio": service_s / raw_s if raw_s else None,
            "queries": bulk_queries,
            "command_validate_s": validate_s,
            "command_file_s": click_s,
            "command_reply": final[:160],
        }

    # -------------------------------------------------------- (d) correlation
    async def correlation(self) -> None:
        a = self.actors[0]
        correlator = self.bot.intel.correlator
        viewer = await self.bot.intel.viewer(self.caller(a))
        async with self.bot.sessions() as session:
            top = self.meta["scale"]["indicators"]
            known = list(
                (
                    await session.execute(
                        select(IntelIndicator.type, IntelIndicator.value, IntelIndicator.display).where(
                            IntelIndicator.id.in_([self.rng.randint(1, top) for _ in range(2_000)])
                        )
                    )
                ).all()
            )
        samples, linked = [], []
        for i in range(60):
            values = {(k, v): d for k, v, d in self.rng.sample(known, min(25, len(known)))}
            for j in range(50 - len(values)):
                values[("wechat", f"new_{i}_{j}_id")] = f"new_{i}_{j}_id"
            report = IntelReport(
                id=10**9 + i,
                working_group_id=a["group"],
                author_id=a["actor"].id,
                tlp=Tlp.AMBER,
                indicators=[IntelIndicator(type=k, value=v, display=d) for (k, v), d in values.items()],
            )
            async with self.bot.sessions() as session:
                t = time.perf_counter()
                found = await correlator.links(session, report, viewer)
                samples.append(time.perf_counter() - t)
                linked.append(len(found.visible))
        share = []
        for i in range(20):
            lines = (
                "\n".join(f"{k}: {d}" for k, v, d in self.rng.sample(known, 25))
                + "\n"
                + "\n".join(f"wechat: shared_{i}_{j}_id" for j in range(25))
            )
            t = time.perf_counter()
            await self.bot.intel.share(
                self.caller(a),
                tlp=Tlp.AMBER,
                title=f"bench {i}",
                body="bench report",
                indicator_lines=lines,
                channel_id=a["channel"].id,
            )
            share.append(time.perf_counter() - t)
        rebuild: dict[str, Any] = {}
        async with self.bot.sessions() as session:
            ids = list(await session.scalars(select(IntelReport.id).where(IntelReport.retracted_at.is_(None))))
            t = time.perf_counter()
            try:
                components = await correlator.components(session, ids)
                rebuild = {
                    "s": time.perf_counter() - t,
                    "reports": len(ids),
                    "networks": sum(len(c) > 1 for c in components),
                    "largest": max(len(c) for c in components),
                }
            except Exception as error:  # the measurement is the failure
                rebuild = {"s": time.perf_counter() - t, "reports": len(ids), "error": repr(error)[:400]}
        self.result["correlation"] = {
            "links": percentiles(samples),
            "links_found_median": statistics.median(linked),
            "share": percentiles(share),
            "rebuild": rebuild,
        }

    # ----------------------------------------------------------- (e) digests
    async def digests(self) -> None:
        lags: list[float] = []
        running = True

        async def ticker() -> None:
            while running:
                t = time.perf_counter()
                await asyncio.sleep(0.002)
                lags.append(time.perf_counter() - t - 0.002)

        service = self.bot.digests
        schedules = await service.schedules()
        end = self.bot.clock()
        start = end - timedelta(days=7)
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        each: dict[str, float] = {}
        self.queries.stats.clear()
        self.queries.active = True
        t = time.perf_counter()
        error = None
        try:
            for schedule in schedules:
                t1 = time.perf_counter()
                async with service._sessions() as session:
                    figures = await service.figures(session, schedule, start, end)
                    await service.render(session, schedule, figures)
                each[schedule.scope] = time.perf_counter() - t1
        except Exception as failure:
            error = repr(failure)[:400]
        total = time.perf_counter() - t
        self.queries.active = False
        running = False
        await tick
        self.result["digests"] = {
            "count": len(each),
            "total_s": total,
            "max_loop_block_ms": max(lags) * 1000,
            "slowest": sorted(each.items(), key=lambda kv: -kv[1])[:3],
            "error": error,
            "queries": self.queries.top(1, 6),
        }

    async def run(self) -> dict[str, Any]:
        await self.start()
        print("  started; measuring latencies", flush=True)
        await self.latencies()
        self.result["step_rss_mb"] = {"latencies": rss_mb()}
        if self.full:
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                ("profiles", self.profiles),
                ("correlation", self.correlation),
                ("digests", self.digests),
                ("bulk", self.bulk),
            ]
            for label, step in steps:
                print(f"  {label}", flush=True)
                # What the earlier steps left in SimCord (thousands of simulated messages) is not
                # the bot's: out of the collector's sight, as the bot's own start-up objects are,
                # so a full collection during the digests walks what a real bot process holds.
                gc.collect()
                gc.freeze()
                t = time.perf_counter()
                try:
                    await step()
                except Exception:
                    self.result.setdefault("failures", {})[label] = traceback.format_exc()[-1500:]
                self.result.setdefault("step_s", {})[label] = time.perf_counter() - t
                self.result.setdefault("step_rss_mb", {})[label] = rss_mb()
        self.result["peak_rss_mb"] = rss_mb()
        await self.env.shutdown()
        return self.result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("meta")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.meta, encoding="utf-8") as handle:
        meta = json.load(handle)
    result = asyncio.run(Bench(args.url, meta, args.calls, args.full).run())
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)


if __name__ == "__main__":
    main()
