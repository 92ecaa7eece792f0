"""`python -m bench [--scale default|small] [--postgres URL] [--out bench/RESULTS.md]`

For each engine (SQLite always; PostgreSQL when a URL is given), for each dataset (10k, 100k
indicators and the full alliance), generates a fresh database in one subprocess and measures the
bot against it in another (so the bot process's peak RSS is the bot's, not the generator's).
Prints a table with PASS/MISS per target and writes the results as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.report import render

SCALES = {
    # dataset label → (generator args, measure calls, full suite?)
    "default": [
        ("10k", ["--indicators", "10000"], 300, False),
        ("100k", ["--indicators", "100000"], 300, False),
        ("1M", ["--full"], 1000, True),
    ],
    "small": [("10k", ["--indicators", "10000"], 100, False), ("100k", ["--indicators", "100000"], 200, True)],
}


async def _pg_admin(url: str, statement: str) -> None:
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


CACHE_MAX_AGE_S = 12 * 3600  # generated data is relative to its generation time ("the last week is busy")


def dataset_key(engine: str, gen_args: list[str]) -> str:
    """Same generator, schema and arguments → same data (the generator is seeded)."""
    digest = hashlib.sha256(" ".join([engine, *gen_args]).encode())
    root = Path(__file__).resolve().parent.parent
    for path in sorted([root / "bench" / "generate.py", *(root / "db" / "migrations" / "versions").glob("*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def generate(url: str, gen_args: list[str], meta: str) -> None:
    subprocess.run([sys.executable, "-m", "bench.generate", url, *gen_args, "--out", meta], check=True)


def fresh(path: str) -> bool:
    return os.path.exists(path) and time.time() - os.path.getmtime(path) < CACHE_MAX_AGE_S


def prepare(
    engine: str, pg_url: str | None, gen_args: list[str], name: str, workdir: str, cache: str | None
) -> tuple[str, str]:
    """A database to measure (the measurement writes to it) and its generator metadata. With a
    cache directory, the generated dataset is kept (a SQLite file, or a PostgreSQL template
    database) and each run measures a copy, so iterating costs a copy instead of a generation."""
    meta = f"{workdir}/{name}.meta.json"
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir}/{name}.db"
        if cache is None:
            generate(url, gen_args, meta)
            return url, meta
        key = f"sqlite_{dataset_key(engine, gen_args)}"
        cached_db, cached_meta = f"{cache}/{key}.db", f"{cache}/{key}.meta.json"
        if not fresh(cached_meta):
            for stale in (cached_db, cached_meta):
                if os.path.exists(stale):
                    os.remove(stale)
            generate(f"sqlite+aiosqlite:///{cached_db}", gen_args, cached_meta)
        shutil.copyfile(cached_db, f"{workdir}/{name}.db")
        shutil.copyfile(cached_meta, meta)
        return url, meta
    assert pg_url
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    if cache is None:
        asyncio.run(_pg_admin(pg_url, f'CREATE DATABASE "{name}"'))
        generate(url, gen_args, meta)
        return url, meta
    key = f"bench_cache_{dataset_key(engine, gen_args)}"
    cached_meta = f"{cache}/{key}.meta.json"
    if not fresh(cached_meta):
        if os.path.exists(cached_meta):
            os.remove(cached_meta)
        asyncio.run(_pg_admin(pg_url, f'DROP DATABASE IF EXISTS "{key}" WITH (FORCE)'))
        asyncio.run(_pg_admin(pg_url, f'CREATE DATABASE "{key}"'))
        generate(make_url(pg_url).set(database=key).render_as_string(hide_password=False), gen_args, cached_meta)
    asyncio.run(_pg_admin(pg_url, f'CREATE DATABASE "{name}" TEMPLATE "{key}"'))
    shutil.copyfile(cached_meta, meta)
    return url, meta


def run_dataset(
    engine: str,
    pg_url: str | None,
    label: str,
    gen_args: list[str],
    calls: int,
    full: bool,
    load_seconds: float,
    workdir: str,
    cache: str | None = None,
) -> dict:
    name = f"bench_{label.lower()}_{uuid.uuid4().hex[:8]}"
    out = f"{workdir}/{name}.result.json"
    try:
        t = time.perf_counter()
        print(f"[{engine} {label}] preparing the dataset …", flush=True)
        url, meta = prepare(engine, pg_url, gen_args, name, workdir, cache)
        print(f"[{engine} {label}] ready in {time.perf_counter() - t:.0f} s; measuring …", flush=True)
        args = [sys.executable, "-m", "bench.measure_main", url, meta, "--calls", str(calls), "--out", out]
        subprocess.run([*args, "--full"] if full else args, check=True)
        with open(out, encoding="utf-8") as handle:
            result = json.load(handle)
        if full:  # sustained load on the real `python bot.py` (see bench/live.py), on the same data
            print(f"[{engine} {label}] sustained load on the real bot process …", flush=True)
            live_out = f"{workdir}/{name}.live.json"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.live",
                    url,
                    meta,
                    "--seconds",
                    str(load_seconds),
                    "--rate",
                    "100",
                    "--out",
                    live_out,
                ],
                check=True,
            )
            with open(live_out, encoding="utf-8") as handle:
                result["live"] = json.load(handle)
        result["label"], result["engine"] = label, engine
        result["wall_s"] = time.perf_counter() - t
        if engine == "sqlite":
            result["db_mb"] = os.path.getsize(url.split("///", 1)[1]) / 1e6
        return result
    finally:
        if engine == "postgresql":
            asyncio.run(_pg_admin(pg_url or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif os.path.exists(f"{workdir}/{name}.db"):
            os.remove(f"{workdir}/{name}.db")


def machine() -> dict:
    memory = 0.0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) / 1024 / 1024
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    import sqlite3

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "memory_gb": memory,
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {p: version(p) for p in ("discord.py", "SQLAlchemy", "simcord", "aiosqlite", "asyncpg")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--postgres", metavar="URL", help="postgresql+asyncpg://… (its role may CREATE DATABASE)")
    parser.add_argument("--out", default="bench/RESULTS.md")
    parser.add_argument("--load-seconds", type=float, default=None, help="sustained-load duration (default 60 s)")
    parser.add_argument("--cache", metavar="DIR", help="keep generated datasets here and reuse them (up to 12 h old)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one engine only")
    args = parser.parse_args()
    load_seconds = args.load_seconds or (60.0 if args.scale == "default" else 10.0)
    started = time.perf_counter()
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if args.only:
        engines = [args.only]
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="alliance-bench-") as workdir:
        for engine in engines:
            for label, gen_args, calls, full in SCALES[args.scale]:
                results.append(
                    run_dataset(engine, args.postgres, label, gen_args, calls, full, load_seconds, workdir, args.cache)
                )
                with open(os.path.join(os.path.dirname(args.out) or ".", "results.json"), "w", encoding="utf-8") as h:
                    json.dump({"machine": machine(), "results": results}, h, default=str, indent=1)
    runtime = time.perf_counter() - started
    command = "python -m bench " + " ".join(a if "://" not in a else "URL" for a in sys.argv[1:])
    table, markdown = render(machine(), results, runtime, command)
    print(table)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(markdown)
    print(f"wrote {args.out} in {runtime:.0f} s")


if __name__ == "__main__":
    main()
