"""Figures the test run reports about itself, for TESTING.md.

Tests count what they really did (inputs generated, reads checked against the TLP oracle,
permission pairs tried, faults injected, processes killed) with `record`, as they do it; the
session prints the totals at the end of the run (`pytest_terminal_summary` in conftest.py), so
the figures in TESTING.md are copied from a CI log rather than written by hand. Passing tests'
own output is hidden by pytest, which is why this is a summary section and not `print`.
"""

from __future__ import annotations

from collections import Counter

_FIGURES: Counter[tuple[str, str]] = Counter()


def record(section: str, what: str, count: int = 1) -> None:
    """Add `count` to the figure `what` under `section`, e.g. record("hostile inputs", "parse_cron")."""
    _FIGURES[section, what] += count


def summary() -> list[str]:
    """One line per section, figures in the order they were first recorded."""
    sections: dict[str, list[str]] = {}
    for (section, what), count in _FIGURES.items():
        sections.setdefault(section, []).append(f"{what}={count:,}")
    return [f"{section}: {', '.join(figures)}" for section, figures in sections.items()]
