"""Business time for the takedown SLA: weekends, holidays, 调休 days, pauses, DST, and add/elapsed agreeing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.business_time import COUNTER_NOTICE_DAYS, BusinessCalendar, Pause

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(hours=24)

# Shared across tests so the property tests also exercise the caches.
CHINA = BusinessCalendar()
PARIS = BusinessCalendar("Europe/Paris", "FR")


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return at(SHANGHAI, year, month, day, hour, minute)


def local(calendar: BusinessCalendar, instant: datetime) -> str:
    return instant.astimezone(calendar.zone).strftime("%a %Y-%m-%d %H:%M")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("business_time tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


# ------------------------------------------------------------- the promise


def test_friday_evening_is_due_monday_evening() -> None:
    # March 2026 has no Chinese holidays around these dates.
    due = CHINA.due(sh(2026, 3, 6, 18))
    assert local(CHINA, due) == "Mon 2026-03-09 18:00"
    assert due.tzinfo is UTC


def test_saturday_filing_is_due_at_the_end_of_monday() -> None:
    assert CHINA.due(sh(2026, 3, 7, 10)) == sh(2026, 3, 10, 0)


def test_weekday_filing_is_due_the_next_day_same_time() -> None:
    assert CHINA.due(sh(2026, 3, 10, 9, 30)) == sh(2026, 3, 11, 9, 30)
    assert CHINA.due(sh(2026, 3, 12, 0)) == sh(2026, 3, 13, 0)


def test_sunday_filing_is_due_at_the_end_of_monday() -> None:
    assert CHINA.due(sh(2026, 3, 8, 23, 59)) == sh(2026, 3, 10, 0)


def test_thursday_filing_with_a_48_hour_sla_crosses_the_weekend() -> None:
    assert CHINA.due(sh(2026, 3, 5, 12), sla=2 * DAY) == sh(2026, 3, 9, 12)


def test_inputs_in_any_zone_give_utc() -> None:
    filed = sh(2026, 3, 6, 18).astimezone(ZoneInfo("America/New_York"))
    due = CHINA.add(filed, DAY)
    assert due == sh(2026, 3, 9, 18)
    assert due.utcoffset() == timedelta(0)


def test_weekend_days_are_not_business_days() -> None:
    assert [CHINA.is_business_day(date(2026, 3, d)) for d in range(2, 9)] == [True] * 5 + [False] * 2


# ------------------------------------------------------------- Chinese holidays


def test_golden_week_2024_stops_the_clock() -> None:
    # 1–7 October 2024 off; Sunday 29 September and Saturday 12 October are working days.
    assert not any(CHINA.is_business_day(date(2024, 10, d)) for d in range(1, 8))
    assert CHINA.due(sh(2024, 9, 30, 12)) == sh(2024, 10, 8, 12)


def test_golden_week_2025_with_mid_autumn_runs_to_the_eighth() -> None:
    assert not any(CHINA.is_business_day(date(2025, 10, d)) for d in range(1, 9))
    assert CHINA.due(sh(2025, 9, 30, 12)) == sh(2025, 10, 9, 12)


def test_spring_festival_2025_stops_the_clock() -> None:
    # 28 January – 4 February 2025 off.
    assert not any(CHINA.is_business_day(date(2025, 1, 28) + timedelta(days=n)) for n in range(8))
    assert CHINA.due(sh(2025, 1, 27, 12)) == sh(2025, 2, 5, 12)


def test_adjusted_working_weekend_days_count() -> None:
    """调休: Sunday 26 January and Saturday 8 February 2025 were official working days."""
    for workday in (date(2025, 1, 26), date(2025, 2, 8), date(2024, 9, 29), date(2024, 10, 12)):
        assert workday.weekday() >= 5
        assert CHINA.is_business_day(workday), workday
    assert not CHINA.is_business_day(date(2025, 1, 25))  # the Saturday before is still off
    # Friday evening before the Spring Festival: due on the working Sunday, not after the holiday.
    assert CHINA.due(sh(2025, 1, 24, 18)) == sh(2025, 1, 26, 18)
    # A working Saturday is counted like any weekday.
    assert CHINA.due(sh(2025, 10, 11, 9)) == sh(2025, 10, 13, 9)


def test_year_end_skips_new_years_day() -> None:
    assert CHINA.due(sh(2024, 12, 31, 12)) == sh(2025, 1, 2, 12)


def test_year_end_into_a_long_new_year_break_and_its_working_sunday() -> None:
    # 1–3 January 2026 off; Sunday 4 January 2026 is a working day (published with the 2026 schedule).
    assert CHINA.due(sh(2025, 12, 31, 18)) == sh(2026, 1, 4, 18)
    assert CHINA.due(sh(2025, 12, 31, 18), sla=2 * DAY) == sh(2026, 1, 5, 18)


def test_extra_holidays_close_days_even_working_weekends() -> None:
    calendar = BusinessCalendar(extra_holidays=[date(2026, 3, 9), date(2025, 2, 8)])
    assert not calendar.is_business_day(date(2026, 3, 9))
    assert not calendar.is_business_day(date(2025, 2, 8))
    assert calendar.due(sh(2026, 3, 6, 18)) == sh(2026, 3, 10, 18)


def test_far_years_work_to_2100_and_beyond() -> None:
    assert not CHINA.is_business_day(date(2100, 1, 1))  # New Year's Day, a Friday
    assert CHINA.due(sh(2099, 12, 31, 12)) == sh(2100, 1, 4, 12)
    # The package stops at 2100: later years have weekends only, but still work.
    assert CHINA.is_business_day(date(2101, 1, 3))  # a Monday
    assert CHINA.due(sh(2101, 1, 1, 12)) == sh(2101, 1, 4, 0)  # Saturday filing: the end of Monday
    assert CHINA.due(sh(2101, 1, 3, 12)) == sh(2101, 1, 4, 12)


def test_holidays_are_computed_offline(no_network: None) -> None:
    calendar = BusinessCalendar(country="CN")
    assert not calendar.is_business_day(date(2031, 10, 1))
    assert BusinessCalendar("Europe/Berlin", "DE").due(at(ZoneInfo("Europe/Berlin"), 2031, 12, 24, 12))


def test_datetime_is_refused_where_a_local_date_is_meant() -> None:
    with pytest.raises(TypeError, match="local calendar date"):
        CHINA.is_business_day(sh(2026, 3, 9, 12))


# ------------------------------------------------------------- needs_info pauses


def test_pause_over_a_weekend_only_removes_business_time() -> None:
    filed = sh(2026, 3, 5, 12)  # Thursday noon
    pauses: list[Pause] = [(sh(2026, 3, 5, 18), sh(2026, 3, 9, 10))]  # Thu 18:00 → Mon 10:00
    # 6 hours before the pause, then 18 more from Monday 10:00.
    assert CHINA.due(filed, pauses) == sh(2026, 3, 10, 4)
    assert CHINA.elapsed(filed, sh(2026, 3, 10, 4), pauses) == DAY


def test_pause_entirely_inside_a_weekend_changes_nothing() -> None:
    filed = sh(2026, 3, 6, 18)
    pauses: list[Pause] = [(sh(2026, 3, 7, 9), sh(2026, 3, 8, 20))]
    assert CHINA.due(filed, pauses) == CHINA.due(filed)


def test_pause_after_the_deadline_changes_nothing() -> None:
    filed = sh(2026, 3, 10, 9)
    assert CHINA.due(filed, [(sh(2026, 3, 11, 9), sh(2026, 3, 12, 9))]) == sh(2026, 3, 11, 9)


def test_pause_before_filing_is_ignored_and_overlapping_pauses_count_once() -> None:
    filed = sh(2026, 3, 10, 9)
    pauses: list[Pause] = [
        (sh(2026, 3, 9, 9), sh(2026, 3, 10, 8)),
        (sh(2026, 3, 10, 10), sh(2026, 3, 10, 14)),
        (sh(2026, 3, 10, 12), sh(2026, 3, 10, 15)),
    ]
    assert CHINA.due(filed, pauses) == sh(2026, 3, 11, 14)
    assert CHINA.elapsed(filed, sh(2026, 3, 11, 14), pauses) == DAY


def test_open_pause_runs_until_end_in_elapsed() -> None:
    filed = sh(2026, 3, 10, 9)
    pauses: list[Pause] = [(sh(2026, 3, 10, 15), None)]
    assert CHINA.elapsed(filed, sh(2026, 3, 12, 9), pauses) == timedelta(hours=6)


def test_open_pause_due_needs_now_and_assumes_it_ends_now() -> None:
    filed = sh(2026, 3, 10, 9)
    pauses: list[Pause] = [(sh(2026, 3, 10, 15), None)]
    with pytest.raises(ValueError, match="pass `now`"):
        CHINA.due(filed, pauses)
    # Asked on Friday 12:00: 6 hours used, 18 left from then → Friday 12:00 + 12 h, Monday 06:00.
    due = CHINA.due(filed, pauses, now=sh(2026, 3, 13, 12))
    assert due == sh(2026, 3, 16, 6)
    # The same as if the pause had been closed at `now`.
    assert due == CHINA.due(filed, [(sh(2026, 3, 10, 15), sh(2026, 3, 13, 12))])
    # Waiting longer moves the due time later.
    assert CHINA.due(filed, pauses, now=sh(2026, 3, 16, 12)) > due


def test_invalid_pauses_are_refused() -> None:
    filed = sh(2026, 3, 10, 9)
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        CHINA.due(filed, [(sh(2026, 3, 10, 15), sh(2026, 3, 10, 14))])
    with pytest.raises(ValueError, match="before the open pause"):
        CHINA.due(filed, [(sh(2026, 3, 10, 15), None)], now=sh(2026, 3, 10, 14))
    with pytest.raises(ValueError, match="timezone-aware"):
        CHINA.elapsed(filed, sh(2026, 3, 11, 9), [(datetime(2026, 3, 10, 15), None)])


def test_elapsed_is_zero_backwards_and_naive_times_are_refused() -> None:
    assert CHINA.elapsed(sh(2026, 3, 11, 9), sh(2026, 3, 10, 9)) == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        CHINA.add(datetime(2026, 3, 10, 9), DAY)
    with pytest.raises(ValueError, match="negative"):
        CHINA.add(sh(2026, 3, 10, 9), -DAY)
    with pytest.raises(ValueError, match="negative"):
        CHINA.due(sh(2026, 3, 10, 9), sla=-DAY)


def test_zero_duration_is_the_start_itself() -> None:
    saturday = sh(2026, 3, 7, 10)
    assert CHINA.add(saturday, timedelta(0)) == saturday
    assert CHINA.add(saturday, timedelta(microseconds=1)) == sh(2026, 3, 9, 0) + timedelta(microseconds=1)


# ------------------------------------------------------------- other countries, zones, DST


def test_us_holidays_and_observed_days() -> None:
    new_york = ZoneInfo("America/New_York")
    us = BusinessCalendar("America/New_York", "US")
    assert not us.is_business_day(date(2026, 7, 3))  # Independence Day observed on the Friday
    assert us.is_business_day(date(2025, 10, 1))  # Chinese holidays do not apply
    assert us.due(at(new_york, 2026, 7, 2, 12)) == at(new_york, 2026, 7, 6, 12)


def test_germany_christmas_and_paris_dst_across_a_weekend() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    germany = BusinessCalendar("Europe/Berlin", "de")
    assert germany.country == "DE"
    assert germany.due(at(berlin, 2026, 12, 24, 12)) == at(berlin, 2026, 12, 28, 12)
    # Clocks go forward on Sunday 29 March 2026; the weekend does not count anyway, and the due
    # time is the same wall-clock time at the new offset.
    paris = ZoneInfo("Europe/Paris")
    due = PARIS.due(at(paris, 2026, 3, 27, 18))
    assert due == at(paris, 2026, 3, 30, 18)
    assert due.utcoffset() == timedelta(0) and due.hour == 16
    assert PARIS.elapsed(at(paris, 2026, 3, 27, 0), at(paris, 2026, 3, 30, 0)) == DAY


def test_a_dst_business_day_is_23_real_hours_long() -> None:
    # Israel springs forward on Friday 27 March 2026 at 02:00: a 23-hour business day.
    jerusalem = ZoneInfo("Asia/Jerusalem")
    israel = BusinessCalendar("Asia/Jerusalem", "IL")
    friday, saturday = at(jerusalem, 2026, 3, 27, 0), at(jerusalem, 2026, 3, 28, 0)
    assert israel.elapsed(friday, saturday) == timedelta(hours=23)
    # 12 hours on Thursday, then 12 real hours into Friday: 13:00 on the wall clock.
    assert israel.due(at(jerusalem, 2026, 3, 26, 12)) == at(jerusalem, 2026, 3, 27, 13)
    # Whole business days keep the wall-clock time instead.
    assert israel.add_business_days(at(jerusalem, 2026, 3, 26, 12), 1) == at(jerusalem, 2026, 3, 27, 12)


def test_a_skipped_local_date_has_no_business_time() -> None:
    # Samoa skipped Friday 30 December 2011 when it moved across the date line.
    apia = ZoneInfo("Pacific/Apia")
    samoa = BusinessCalendar("Pacific/Apia", "WS")
    assert samoa.is_business_day(date(2011, 12, 30))
    thursday_noon = at(apia, 2011, 12, 29, 12)
    assert samoa.elapsed(thursday_noon, at(apia, 2011, 12, 31, 0)) == timedelta(hours=12)
    # 12 h on Thursday, nothing on the Friday that never was, 1–2 January are holidays.
    assert samoa.due(thursday_noon) == at(apia, 2012, 1, 3, 12)


def test_a_midnight_dst_gap_starts_the_day_at_the_transition() -> None:
    # Iran moved clocks from 00:00 to 01:00 on Monday 22 March 2021; Monday starts at 01:00.
    tehran = ZoneInfo("Asia/Tehran")
    calendar = BusinessCalendar("Asia/Tehran", "CN")
    assert calendar.add(at(tehran, 2021, 3, 20, 12), timedelta(hours=1)) == at(tehran, 2021, 3, 22, 2)


def test_invalid_zone_and_country_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        BusinessCalendar("Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="not an IANA time zone"):
        BusinessCalendar("../etc/passwd")
    with pytest.raises(ValueError, match="not a country the holidays package knows"):
        BusinessCalendar(country="XX")
    with pytest.raises(ValueError, match="not a country the holidays package knows"):
        BusinessCalendar(country="")


# ------------------------------------------------------------- counter-notice windows


def test_business_days_from_a_business_day_keep_the_local_time() -> None:
    assert COUNTER_NOTICE_DAYS == 3
    assert CHINA.add_business_days(sh(2026, 3, 6, 15), 3) == sh(2026, 3, 11, 15)
    assert CHINA.add_business_days(sh(2026, 3, 10, 9), 0) == sh(2026, 3, 10, 9)


def test_business_days_from_a_weekend_count_from_the_next_business_morning() -> None:
    assert CHINA.add_business_days(sh(2026, 3, 7, 15), 3) == sh(2026, 3, 12, 0)
    assert CHINA.add_business_days(sh(2026, 3, 7, 15), 0) == sh(2026, 3, 9, 0)
    assert CHINA.add_business_days(sh(2026, 3, 7, 15), 3) == CHINA.add(sh(2026, 3, 7, 15), 3 * DAY)


def test_business_days_skip_holidays_and_use_working_weekends() -> None:
    # Monday 29 September 2025 + 3: Tuesday 30 September, then Golden Week to 8 October,
    # Thursday 9 and Friday 10, so Friday 10 October.
    assert CHINA.add_business_days(sh(2025, 9, 29, 10), 3) == sh(2025, 10, 10, 10)
    # From Friday 10 October 2025: the working Saturday 11 October is the first business day.
    assert CHINA.add_business_days(sh(2025, 10, 10, 10), 1) == sh(2025, 10, 11, 10)
    with pytest.raises(ValueError, match="negative"):
        CHINA.add_business_days(sh(2025, 10, 10, 10), -1)


# ------------------------------------------------------------- properties

instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31, 23, 59, 59), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
calendars = st.sampled_from([CHINA, PARIS])


@settings(max_examples=2000, deadline=None)
@given(calendar=calendars, start=instants, duration=durations, extra=durations)
def test_elapsed_undoes_add_and_add_is_monotonic(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, extra: timedelta
) -> None:
    end = calendar.add(start, duration)
    assert end >= start
    assert calendar.elapsed(start, end) == duration
    assert calendar.add(start, duration + extra) >= end
    if duration:  # the earliest such instant: a microsecond less is not enough
        assert calendar.elapsed(start, end - timedelta(microseconds=1)) < duration


@settings(max_examples=500, deadline=None)
@given(
    start=instants,
    sla=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)),
    pauses=st.lists(
        st.tuples(
            st.timedeltas(min_value=-timedelta(days=2), max_value=timedelta(days=20)),
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=6)),
        ),
        max_size=4,
    ),
)
def test_due_uses_exactly_the_sla(start: datetime, sla: timedelta, pauses: list[tuple[timedelta, timedelta]]) -> None:
    spans: list[Pause] = [(start + offset, start + offset + length) for offset, length in pauses]
    due = CHINA.due(start, spans, sla)
    assert CHINA.elapsed(start, due, spans) == sla
    assert due >= CHINA.due(start, (), sla)
