"""What a digest's text names when a week has more overdue requests and flagged sellers than a
reader can use: the counts complete, the first LIST_LIMIT named, the rest pointed to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.digests import LIST_LIMIT, Figures, Schedule, render_text

END = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def digest_text(overdue: int, flagged: int) -> str:
    figures = Figures(name="the alliance", start=END - timedelta(days=7), end=END, filed=1, open=overdue)
    figures.overdue = [f"TD-{n:06d}" for n in range(1, overdue + 1)]
    figures.flagged = [(f"taobao:shop{n}", ("repeat infringer",)) for n in range(1, flagged + 1)]
    schedule = Schedule(scope="alliance", cron="0 9 * * 1", timezone="UTC", name="the alliance", channel_id=1,
                        group_id=None)
    return "\n".join(render_text(schedule, figures))


def test_long_lists_name_the_first_ones_and_count_the_rest() -> None:
    text = digest_text(LIST_LIMIT + 30, LIST_LIMIT + 7)
    assert f"**Overdue ({LIST_LIMIT + 30}):**" in text
    assert f"TD-{LIST_LIMIT:06d}" in text and f"TD-{LIST_LIMIT + 1:06d}" not in text
    assert "…and 30 more (/takedown list)" in text
    assert f"**Flagged sellers ({LIST_LIMIT + 7}):**" in text
    assert f"taobao:shop{LIST_LIMIT} (" in text and f"taobao:shop{LIST_LIMIT + 1} (" not in text
    assert "…and 7 more (/takedown check)" in text


def test_short_lists_are_named_whole_without_a_remainder() -> None:
    text = digest_text(LIST_LIMIT, 3)
    assert f"TD-{LIST_LIMIT:06d}" in text and "more (/takedown list)" not in text
    assert "taobao:shop3 (repeat infringer)" in text and "more (/takedown check)" not in text
