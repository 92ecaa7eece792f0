"""bench/live.py end to end, small: a tiny generated alliance, the real `python bot.py` against the
fake Discord, 3 s of mixed commands at 20 per second. Every interaction must be answered without
an error, and the figures the bench reports must be coherent (latencies ordered, memory and CPU
read from the bot's process). No timing is asserted: speed is what the bench itself reports."""

from __future__ import annotations

from pathlib import Path

from bench.generate import Scale, generate
from bench.live import CONFIRM, MIX, measure

SECONDS, RATE = 3.0, 20.0


async def test_live_load_answers_every_interaction(database_url: str, tmp_path: Path) -> None:
    meta = await generate(database_url, Scale.for_indicators(2000))

    result = await measure(database_url, meta, seconds=SECONDS, rate=RATE, workdir=tmp_path)

    samples = "\n".join(result["error_samples"])
    assert result["errors"] == {}, f"{result['errors']}\n{samples}"
    assert result["errors_total"] == 0
    assert result["sent"] == int(SECONDS * RATE)
    commands = result["by_command"]
    assert set(commands) <= {name for name, _ in MIX} | {CONFIRM}, commands
    assert sum(c["sent"] for name, c in commands.items() if name != CONFIRM) == result["sent"]
    assert all(c["answered"] == c["sent"] for c in commands.values()), commands
    assert commands.get("takedown file", {}).get("sent", 0) >= commands.get(CONFIRM, {}).get("sent", 0)

    latency = result["latency_ms"]
    assert latency["n"] == result["sent"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    bot = result["bot"]
    assert 0 < bot["rss_after_start_mb"] <= bot["peak_rss_mb"]
    assert bot["rss_end_mb"] <= bot["peak_rss_mb"]
    assert bot["cpu_s"] > 0, "the bot used no CPU while answering every command"
    assert result["bench_process"]["cpu_s"] > 0
    assert result["meets"]["errors"]
