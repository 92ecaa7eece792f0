"""Targets, the printed table and bench/RESULTS.md."""

from __future__ import annotations

from typing import Any

COMMANDS = [
    "takedown check",
    "takedown status",
    "takedown file: prepare",
    "takedown file: confirm",
    "takedown file (both)",
    "intel search",
    "intel network",
    "intel show",
]
BASELINE = "alliance group list"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def targets(full: dict[str, Any], small: dict[str, Any] | None) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []
    latency = full.get("latency", {})
    base = latency.get(BASELINE, {}).get("p99")
    for name in COMMANDS:
        stats = latency.get(name)
        if not stats or not stats.get("n"):
            continue
        ratio = stats["p99"] / base if base else None
        rows.append((f"{name}: p99 ≤ 30 ms", "30 ms", f"{stats['p99']:.1f} ms", stats["p99"] <= 30))
        rows.append(
            (f"{name}: p99 ≤ 3× baseline", "3.0×", f"{ratio:.1f}×" if ratio else "?", ratio is not None and ratio <= 3)
        )
        if small is not None and small.get("latency", {}).get(name, {}).get("n"):
            growth = stats["p50"] / small["latency"][name]["p50"]
            rows.append(
                (
                    f"{name}: p50 growth {small['label']}→{full['label']} indicators ≤ 1.5×",
                    "1.5×",
                    f"{growth:.1f}×",
                    growth <= 1.5,
                )
            )
    bulk = full.get("bulk")
    if bulk:
        rows.append(("bulk 10k rows (service) ≤ 3 s", "3 s", f"{bulk['service_s']:.2f} s", bulk["service_s"] <= 3))
        rows.append(
            (
                "bulk 10k ≤ 10× raw sqlite3.executemany",
                "10×",
                f"{bulk['ratio']:.0f}× (raw {bulk['raw_executemany_s'] * 1000:.0f} ms)",
                bulk["ratio"] <= 10,
            )
        )
    corr = full.get("correlation")
    if corr:
        links = corr["links"]
        rows.append(
            (
                "incremental correlation (Correlator.links, 50 indicators) p95 ≤ 20 ms",
                "20 ms",
                f"p50 {links['p50']:.1f} / p95 {links['p95']:.1f} ms",
                links["p95"] <= 20,
            )
        )
        rebuild = corr["rebuild"]
        rows.append(
            (
                "full network rebuild (Correlator.components, all reports) ≤ 30 s",
                "30 s",
                f"{rebuild['s']:.1f} s" + (" FAILED: " + rebuild["error"][:90] if "error" in rebuild else ""),
                "error" not in rebuild and rebuild["s"] <= 30,
            )
        )
    digests = full.get("digests")
    if digests:
        rows.append(
            (
                "13 digests ≤ 2 s",
                "2 s",
                f"{digests['total_s']:.2f} s ({digests['count']} rendered)",
                digests["error"] is None and digests["count"] == 13 and digests["total_s"] <= 2,
            )
        )
        rows.append(
            (
                "longest event-loop block during digests ≤ 50 ms",
                "50 ms",
                f"{digests['max_loop_block_ms']:.0f} ms",
                digests["max_loop_block_ms"] <= 50,
            )
        )
    if "startup_s" in full:
        rows.append(("start-up to commands synced ≤ 3 s", "3 s", f"{full['startup_s']:.2f} s", full["startup_s"] <= 3))
    live = full.get("live")
    if live:
        bot, latency = live["bot"], live["latency_ms"]
        rows.append(
            (
                "peak RSS of the bot process (real `python bot.py`, VmHWM) ≤ 300 MB",
                "300 MB",
                f"{bot['peak_rss_mb']:.0f} MB (after start {bot['rss_after_start_mb']:.0f} MB)",
                bot["peak_rss_mb"] <= 300,
            )
        )
        rows.append(
            (
                f"sustained {live['target_rate']:.0f}/s for {live['seconds']:.0f} s: 0 errors",
                "0",
                f"{live['errors_total']:,} of {live['sent']:,} ({dict(live['errors'])})",
                live["errors_total"] == 0,
            )
        )
        rows.append(
            (
                "sustained load: p99 (dispatch → answer seen) ≤ 100 ms",
                "100 ms",
                f"{latency.get('p99', 0):.0f} ms (p50 {latency.get('p50', 0):.0f} ms; bot "
                f"{bot['cpu_per_wall_s']:.2f} CPU-s per s)",
                latency.get("p99", 1e9) <= 100,
            )
        )
    if "peak_rss_mb" in full:
        rows.append(
            (
                "peak RSS of the SimCord bench process (bot + simulated Discord), for reference",
                "-",
                f"{full['peak_rss_mb']:.0f} MB",
                None,
            )
        )
    for name, text in full.get("failures", {}).items():
        rows.append((f"step `{name}` raised", "-", text.strip().splitlines()[-1][:120], False))
    return rows


def latency_table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| engine | dataset | command | n | p50 ms | p95 ms | p99 ms | p99 / baseline | bot-side p50 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        base = r["latency"].get(BASELINE, {}).get("p99") or 0
        for name in [BASELINE, *COMMANDS]:
            s = r["latency"].get(name)
            if not s or not s.get("n"):
                continue
            handler = r.get("handler", {}).get(name, {}).get("p50")
            lines.append(
                f"| {r['engine']} | {r['label']} ({r['indicators']:,} ind.) | `{name}` | {s['n']} | {s['p50']:.1f} | "
                f"{s['p95']:.1f} | {s['p99']:.1f} | {s['p99'] / base:.1f}× | "
                f"{'' if handler is None else f'{handler:.1f}'} |"
            )
    return lines


def render(machine: dict[str, Any], results: list[dict[str, Any]], runtime: float, command: str) -> tuple[str, str]:
    out = [
        "# Benchmark results",
        "",
        f"`{command}` · {machine['date']} · total runtime {runtime / 60:.1f} min",
        "",
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']:.1f} GB RAM · Python "
        f"{machine['python']} · SQLite {machine['sqlite']} · "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()),
        "",
        "Why each MISS misses, with its profile, and what was done: `bench/ANALYSIS.md`.",
        "",
    ]
    table = []
    for engine in dict.fromkeys(r["engine"] for r in results):
        mine = [r for r in results if r["engine"] == engine]
        full = next((r for r in reversed(mine) if "bulk" in r or "load" in r), mine[-1])
        small = mine[0] if mine[0] is not full else None
        rows = targets(full, small)
        out += [
            f"## Targets · {engine} · full dataset ({full['indicators']:,} indicators)",
            "",
            "| target | limit | measured | verdict |",
            "| --- | --- | --- | --- |",
        ]
        out += [f"| {t} | {limit} | {m} | **{verdict(ok)}** |" for t, limit, m, ok in rows]
        out.append("")
        table += [f"== {engine}: targets at {full['indicators']:,} indicators =="]
        table += [f"{verdict(ok):4}  {t:78.78}  {m}" for t, _l, m, ok in rows]
    out += [
        "## Command latency (end to end through discord.py in SimCord)",
        "",
        f"Baseline: `/{BASELINE}` (one query, no permission lookup: the cheapest command). Calls are "
        "interleaved round-robin over the commands and spread over 24 members of 12 groups plus a reviewer. "
        "`takedown file (both)` is prepare + the **File takedown** click. *bot-side* is the time inside "
        "`CommandTree._call` (the handler and its reply), the rest is SimCord's dispatch and settle.",
        "",
    ]
    out += latency_table(results)
    out.append("")
    table += ["", *latency_table(results)]
    for r in results:
        out += [f"## Details · {r['engine']} · {r['label']}", ""]
        gen = r["generation"]
        how = "COPY" if r["engine"] == "postgresql" else "SQLAlchemy Core executemany, batches of 20,000"
        out.append(
            f"Generation ({how}): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in gen.items() if v >= 0.05)
            + (f"; database {r['db_mb']:.0f} MB" if "db_mb" in r else "")
        )
        out.append("")
        idle = r.get("settle_idle", {})
        if idle:
            out.append(
                f"SimCord overhead: an idle `env.settle()` costs p50 {idle['p50']:.2f} ms, p99 "
                f"{idle['p99']:.2f} ms; every simulated call settles at least once after dispatch."
            )
        out.append(
            f"Start-up (create_bot + SimCord start, migrations no-op, extensions, sync): "
            f"{r['startup_s']:.2f} s; RSS after start {r['rss_after_start_mb']:.0f} MB, peak "
            f"{r['peak_rss_mb']:.0f} MB. Outcomes: {r.get('outcomes')}"
        )
        out.append("")
        if "bulk" in r:
            b = r["bulk"]
            out += [
                f"Bulk: {b['rows']:,} rows parsed in {b['parse_s'] * 1000:.0f} ms; `file_bulk` {b['service_s']:.2f} s "
                f"({b['filed']:,} filed); raw `sqlite3.executemany` of the same rows into the same table schema "
                f"{b['raw_executemany_s'] * 1000:.0f} ms ({b['ratio']:.0f}×). Through the command: upload + check "
                f"{b['command_validate_s']:.2f} s, **File all** {b['command_file_s']:.2f} s "
                f"(reply: {b['command_reply'][:100]!r}).",
                "",
                "Top statements during `file_bulk`:",
                "",
            ]
            out += [
                f"- {q['ms_per_call']:.0f} ms in {q['count_per_call']:.0f}× `{q['statement'][:160]}`"
                for q in b["queries"]
            ]
            out.append("")
        if "correlation" in r:
            c = r["correlation"]
            out += [
                f"Correlation: `Correlator.links` for a new 50-indicator report (25 known values, 25 new), 60 runs: "
                f"p50 {c['links']['p50']:.1f} ms, p95 {c['links']['p95']:.1f} ms, median "
                f"{c['links_found_median']} linked reports. `IntelService.share` end to end (25+25 indicators), "
                f"20 runs: p50 {c['share']['p50']:.0f} ms, p95 {c['share']['p95']:.0f} ms. Rebuild: {c['rebuild']}.",
                "",
            ]
        if "digests" in r:
            d = r["digests"]
            out += [
                f"Digests: {d['count']} in {d['total_s']:.2f} s, longest loop block {d['max_loop_block_ms']:.0f} ms; "
                f"slowest {[(k, round(v, 2)) for k, v in d['slowest']]}; error {d['error']}.",
                "",
                "Top statements over all 13 digests:",
                "",
            ]
            out += [
                f"- {q['ms_per_call']:.0f} ms in {q['count_per_call']:.0f}× `{q['statement'][:160]}`"
                for q in d["queries"]
            ]
            out.append("")
        if "step_rss_mb" in r:
            out += [
                "RSS of the SimCord bench process after each step (MB): "
                + ", ".join(f"{k} {v:.0f}" for k, v in r["step_rss_mb"].items()),
                "",
            ]
        if "live" in r:
            lv = r["live"]
            per = "; ".join(
                f"{k} {v['answered']}/{v['sent']} p50 {v['latency_ms'].get('p50', 0):.0f} ms"
                for k, v in lv["by_command"].items()
            )
            out += [
                f"Sustained load on the real `python bot.py` (bench/live.py, fake Discord over HTTP and "
                f"gateway on loopback): {lv['sent']:,} interactions at {lv['achieved_rate']:.1f}/s for "
                f"{lv['seconds']:.0f} s; latency {lv['latency_ms']}; errors {lv['errors']}; per command: {per}. "
                f"Bot process: {lv['bot']}. Bench process: {lv['bench_process']}.",
                "",
            ]
        for name, text in r.get("failures", {}).items():
            out += [f"Step `{name}` failed:", "", "```", text.strip(), "```", ""]
        if "profiles" in r:
            out += [
                "### Profiles (up to 30 calls or 10 s each: SQL statements by wall time per call, "
                "from SQLAlchemy cursor events)",
                "",
            ]
            for name, p in r["profiles"].items():
                sql = (
                    f"; {p['statements_per_call']:.1f} statements taking {p['sql_ms_per_call']:.1f} ms "
                    "(driver round trips included)"
                    if "sql_ms_per_call" in p
                    else ""
                )
                out += [f"#### `/{name}` — {p['ms_per_call']:.1f} ms per call under the profiler{sql}", ""]
                out += [
                    f"- {q['ms_per_call']:.2f} ms/call, {q['count_per_call']:.1f}×/call, max {q['max_ms']:.1f} ms: "
                    f"`{q['statement'][:220]}`"
                    for q in p["queries"]
                ]
                out.append("")
    return "\n".join(table), "\n".join(out) + "\n"
