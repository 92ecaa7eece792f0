"""`python -m bench.parsers`: how fast the text parsers are, on typical and adversarial input.

The listing canonicaliser and the indicator extractor run inside commands (file, check, share,
chat answers), so they must stay far below a command's budget, and no input of up to 100 KB may
make a pattern backtrack catastrophically. Figures are printed with their ratio to a baseline
measured in the same run (`str.split` over the same text: one linear pass in C), so a slower
machine does not read as a regression. The tests only check these inputs end in a result or a
refusal (tests/unit/test_indicators.py); timing belongs here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from bot.errors import InvalidInput
from bot.services.indicators import INDICATOR_TYPES, extract, normalise, parse_lookup
from bot.services.listings import canonicalise
from tests.unit.test_indicators import _ADVERSARIAL, BODY, LINES
from tests.unit.test_listings import VARIANTS

TYPICAL_BUDGET_MS = 10.0  # a typical report, well inside a 30 ms command
ADVERSARIAL_BUDGET_MS = 1_000.0  # the worst 100 KB input, still linear


def _best_of(runs: int, work: Callable[[], object]) -> float:
    """Milliseconds of the fastest of `runs` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(InvalidInput):
            work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _every_parser(text: str) -> None:
    for body, lines in ((text, ""), ("", text)):
        with contextlib.suppress(InvalidInput):
            extract(body, lines)
    for type_ in INDICATOR_TYPES:
        with contextlib.suppress(InvalidInput):
            normalise(type_, text)
        with contextlib.suppress(InvalidInput):
            parse_lookup(f"{type_}: {text}")


def main() -> None:
    listings = [text for texts in VARIANTS.values() for text in texts]
    rows: list[tuple[str, float, float, float]] = []  # what, ms, baseline ms, budget ms
    per_listing = _best_of(5, lambda: [canonicalise(text) for text in listings]) / len(listings)
    baseline = _best_of(5, lambda: [text.split() for text in listings]) / len(listings)
    rows.append((f"canonicalise, per URL ({len(listings)} variants)", per_listing, baseline, 1.0))
    report = BODY + LINES
    rows.append(
        (
            "extract, typical report",
            _best_of(20, lambda: extract(BODY, LINES)),
            _best_of(20, report.split),
            TYPICAL_BUDGET_MS,
        )
    )
    for name, text in _ADVERSARIAL.items():
        rows.append(
            (
                f"every parser, adversarial '{name}' ({len(text) // 1000} KB)",
                _best_of(1, lambda text=text: _every_parser(text)),  # type: ignore[misc]
                _best_of(3, text.split),
                ADVERSARIAL_BUDGET_MS,
            )
        )
    print(f"{'input':<58} {'ms':>10} {'× split':>9} {'budget ms':>10}  verdict")
    for what, ms, base, budget in rows:
        verdict = "PASS" if ms <= budget else "MISS"
        print(f"{what:<58} {ms:>10.3f} {ms / max(base, 1e-6):>8.0f}× {budget:>10.1f}  {verdict}")


if __name__ == "__main__":
    main()
