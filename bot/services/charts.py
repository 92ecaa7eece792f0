"""The alliance digest's chart, drawn offline with matplotlib's Agg backend (no display, no
network: fonts come with matplotlib). Pure CPU work, seconds of it with matplotlib's first import:
callers run it in another process (`ChartWorker`), where it cannot hold the bot's GIL."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor


def digest_chart(groups: Sequence[tuple[str, int]], sla_history: Sequence[tuple[str, float | None]]) -> bytes:
    """PNG: takedowns filed per group this period, and the SLA share over the last periods."""
    import matplotlib  # here, not at module level: only the drawing process pays for it

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    bars, line = figure.subplots(1, 2, width_ratios=(3, 2))
    names = [name for name, _ in groups] or ["(no groups)"]
    counts = [count for _, count in groups] or [0]
    bars.barh(names, counts, color="#5865F2")
    bars.invert_yaxis()
    bars.set_title("Takedowns filed this period")
    bars.tick_params(axis="y", labelsize=8)
    bars.xaxis.get_major_locator().set_params(integer=True)
    labels = [label for label, _ in sla_history]
    shares = [share * 100 if share is not None else float("nan") for _, share in sla_history]
    line.plot(labels, shares, marker="o", color="#57F287")
    line.axhline(97, color="#ED4245", linestyle="--", linewidth=1, label="97 % promise")
    line.set_ylim(0, 105)
    line.set_title("Decided within 24 business hours (%)")
    line.tick_params(axis="x", labelsize=7, rotation=45)
    line.legend(loc="lower left", fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class ChartWorker:
    """One drawing process, started on first use and kept. In a thread, matplotlib's import and
    drawing still held the GIL and froze every command for up to seconds."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def draw(self, groups: Sequence[tuple[str, int]], sla_history: Sequence[tuple[str, float | None]]) -> bytes:
        if self._pool is None:
            # Off the event loop: the pool's queues start multiprocessing's resource tracker (a
            # process) and the first submit starts the drawing process, ~100 ms of fork and exec.
            pool = await asyncio.to_thread(ProcessPoolExecutor, 1, multiprocessing.get_context("spawn"))
            if self._pool is None:
                self._pool = pool
            else:  # another draw started one meanwhile
                pool.shutdown(wait=False)
        pool = self._pool
        try:
            return await asyncio.wrap_future(await asyncio.to_thread(pool.submit, digest_chart, groups, sla_history))
        except Exception:
            if self._pool is pool:  # a dead process (BrokenProcessPool) is replaced next time
                self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
