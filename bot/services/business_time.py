"""Business time for the takedown SLA: the alliance promises a decision within 24 business hours.

The rules, and why:

* The clock runs only on business days in the alliance time zone: Monday to Friday, minus the
  public holidays of one country (default China) from the `holidays` package, minus any extra
  closing days the alliance configures. The weekend is always Saturday and Sunday, whatever the
  country's own weekend, because that is the product promise.
* Official working weekend days count as business days. China moves working days onto weekends
  around long holidays (调休: for example Sunday 26 January and Saturday 8 February 2025 around the
  Spring Festival); staff work those days, so the SLA clock runs on them. The `holidays` package
  exposes them as `weekend_workdays`; countries without such days simply have none.
* A business day counts all of its 24 hours, midnight to midnight local time, and business time
  is real elapsed time. On a daylight-saving change day a business day is 23 or 25 hours long, so
  "24 business hours" is always 24 real hours of the clock running, never a wall-clock reading.
  Where local midnight does not exist (a DST gap at midnight, or Samoa skipping 30 December
  2011) the day starts at the first instant whose local date is that day.
* Instants go in and come out as aware datetimes; results are always in UTC.

Holidays are computed offline from rules in the package (no network), one year at a time and only
when a date in that year is asked about, then cached. The package covers years up to 2100; later
years have weekends only. China's official schedule is published each November for the next year;
years past the newest schedule in the installed package get the statutory holidays estimated by
the package, without 调休 days, so keep the package up to date.

Everything walks at most one local day per step, so a due date for a 24-hour SLA costs a handful
of dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_COUNTRY = "CN"
DEFAULT_SLA = timedelta(hours=24)
COUNTER_NOTICE_DAYS = 3  # business days a counter-notice may take, unless configured otherwise

# A needs_info pause: (started, ended), with `None` while the request is still waiting.
Pause = tuple[datetime, datetime | None]

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
_SATURDAY = 5


@dataclass(frozen=True)
class _Year:
    """The non-working weekdays and the working weekend days of one calendar year."""

    closed: frozenset[date]
    weekend_workdays: frozenset[date]


class BusinessCalendar:
    """Business days and business time in one time zone with one country's public holidays.

    Cheap to keep for the life of the bot: holidays and day boundaries are cached as they are used.
    """

    def __init__(
        self,
        timezone: str = DEFAULT_TIMEZONE,
        country: str = DEFAULT_COUNTRY,
        extra_holidays: Iterable[date] = (),
    ) -> None:
        self.timezone = timezone
        self.zone = _load_zone(timezone)
        self.country = _check_country(country)
        self._extra = frozenset(extra_holidays)
        self._sources: dict[int, holidays.HolidayBase] = {}
        self._years: dict[int, _Year] = {}
        self._day_starts: dict[date, datetime] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar(timezone={self.timezone!r}, country={self.country!r})"

    # ------------------------------------------------------------------ days

    def is_business_day(self, day: date) -> bool:
        """Whether the SLA clock runs on this local calendar date."""
        if isinstance(day, datetime):  # its .date() would silently ignore the alliance time zone
            raise TypeError("is_business_day takes a local calendar date, not a datetime.")
        year = self._year(day.year)
        if day in year.closed:
            return False
        return day.weekday() < _SATURDAY or day in year.weekend_workdays

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same local time `days` business days later, for counter-notice windows.

        From a business day, Friday 15:00 plus 3 is Wednesday 15:00. From a non-business day the
        count starts at the start of the next business day, so Saturday plus 3 is Thursday 00:00:
        Monday, Tuesday and Wednesday in full. Away from DST changes this equals
        `add(start, timedelta(days=days))`; across one it keeps the wall-clock time instead. A time
        that does not exist on the target day (DST gap) moves forward by the gap, and an ambiguous
        one takes its first occurrence.
        """
        if days < 0:
            raise ValueError(f"A number of business days cannot be negative (got {days}).")
        instant = _as_utc(start, "start")
        day = self._locate(instant)
        if not self.is_business_day(day):
            return self._day_start(self._nth_business_day_after(self._nth_business_day_after(day, 1), days))
        wall = instant.astimezone(self.zone).time()
        target = self._nth_business_day_after(day, days)
        return datetime.combine(target, wall, tzinfo=self.zone).astimezone(UTC)

    # ------------------------------------------------------------------ time

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of business time has elapsed after `start`.

        So Friday 18:00 plus 24 hours is Monday 18:00, and Saturday 10:00 plus 24 hours is Tuesday
        00:00, the end of Monday rather than the start of the next business day.
        """
        if duration < _ZERO:
            raise ValueError(f"A business-time duration cannot be negative (got {duration}).")
        cursor = _as_utc(start, "start")
        if not duration:
            return cursor
        remaining = duration
        day = self._locate(cursor)
        while True:
            day_end = self._day_start(day + _ONE_DAY)
            if self.is_business_day(day):
                available = day_end - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
            cursor = day_end
            day += _ONE_DAY

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
        """Business time from `start` to `end`, minus the business time spent paused.

        A pause still open (end `None`) runs until `end`. Pauses may overlap each other or stick
        out of the interval; only the part inside counts, once. Zero if `end` is not after `start`.
        """
        start_utc, end_utc = _as_utc(start, "start"), _as_utc(end, "end")
        if end_utc <= start_utc:
            return _ZERO
        spans = _merge_pauses(pauses, not_before=start_utc, not_after=end_utc, open_until=end_utc)
        paused = sum((self._business_between(a, b) for a, b in spans), _ZERO)
        return self._business_between(start_utc, end_utc) - paused

    def due(
        self,
        filed: datetime,
        pauses: Sequence[Pause] = (),
        sla: timedelta = DEFAULT_SLA,
        *,
        now: datetime | None = None,
    ) -> datetime:
        """When the request has used up `sla` of business time, not counting needs_info pauses.

        While a pause is open the clock is stopped and no due time is fixed, so the caller must
        pass `now`: the result is then the due time if the pause ended at `now`, the same
        assumption `elapsed(filed, now, pauses)` makes. It moves later while the wait goes on.
        `elapsed(filed, due(...), pauses)` is exactly `sla` once every pause is closed.
        """
        if sla < _ZERO:
            raise ValueError(f"An SLA cannot be negative (got {sla}).")
        cursor = _as_utc(filed, "filed")
        open_until: datetime | None = None
        if any(end is None for _, end in pauses):
            if now is None:
                raise ValueError("A request still waiting on needs_info has no fixed due time; pass `now`.")
            open_until = _as_utc(now, "now")
        remaining = sla
        for pause_start, pause_end in _merge_pauses(pauses, not_before=cursor, open_until=open_until):
            candidate = self.add(cursor, remaining)
            if candidate <= pause_start:
                return candidate
            remaining -= self._business_between(cursor, pause_start)
            cursor = pause_end
        return self.add(cursor, remaining)

    # ------------------------------------------------------------- internals

    def _business_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end), both UTC, without pauses."""
        total = _ZERO
        cursor = start
        day = self._locate(start)
        while cursor < end:
            day_end = self._day_start(day + _ONE_DAY)
            if self.is_business_day(day):
                total += min(day_end, end) - cursor
            cursor = day_end
            day += _ONE_DAY
        return total

    def _nth_business_day_after(self, day: date, n: int) -> date:
        """The n-th business day after `day` (n = 0: `day` itself, business day or not)."""
        while n:
            day += _ONE_DAY
            if self.is_business_day(day):
                n -= 1
        return day

    def _locate(self, instant: datetime) -> date:
        """The local date whose [start, next start) holds the UTC `instant`."""
        day = instant.astimezone(self.zone).date()
        while instant < self._day_start(day):  # only around repeated or skipped local dates
            day -= _ONE_DAY
        while instant >= self._day_start(day + _ONE_DAY):
            day += _ONE_DAY
        return day

    def _day_start(self, day: date) -> datetime:
        start = self._day_starts.get(day)
        if start is None:
            start = self._day_starts[day] = _first_instant(day, self.zone)
        return start

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        closed = {day for day in self._source(year) if day.year == year}
        closed.update(day for day in self._extra if day.year == year)
        # A year's schedule can move work onto a weekend of the year before (New Year), so look
        # at the neighbours too.
        workdays = {
            day
            for source_year in range(max(year - 1, MINYEAR), min(year + 1, MAXYEAR) + 1)
            for day in getattr(self._source(source_year), "weekend_workdays", ())
            if day.year == year and day.weekday() >= _SATURDAY
        }
        cached = self._years[year] = _Year(frozenset(closed), frozenset(workdays - closed))
        return cached

    def _source(self, year: int) -> holidays.HolidayBase:
        source = self._sources.get(year)
        if source is None:
            source = self._sources[year] = holidays.country_holidays(self.country, years=year)
        return source


def _load_zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory or over-long name
        raise ValueError(f"`{timezone[:64]}` is not an IANA time zone (for example Asia/Shanghai).") from None


def _check_country(country: str) -> str:
    code = country.strip().upper()
    try:
        holidays.country_holidays(code)  # no years yet: only checks that the country exists
    except NotImplementedError:
        raise ValueError(
            f"`{country[:64]}` is not a country the holidays package knows (use an ISO 3166 code such as CN, US or DE)."
        ) from None
    return code


def _as_utc(value: datetime, what: str) -> datetime:
    """Refuse naive datetimes: guessing their zone is how SLA clocks end up hours off."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"`{what}` must be a timezone-aware datetime (got {value!r}).")
    return value.astimezone(UTC)


def _first_instant(day: date, zone: ZoneInfo) -> datetime:
    """The first UTC instant whose local wall-clock time is at or after `day` 00:00."""
    midnight = datetime.combine(day, time())
    candidates = [midnight.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    existing = [c for c in candidates if c.astimezone(zone).replace(tzinfo=None) == midnight]
    if existing:
        return min(existing)  # ambiguous midnight: its first occurrence
    # Midnight falls in a gap: the day starts at the transition, between the two readings.
    low, high = min(candidates), max(candidates)
    if low.astimezone(zone).replace(tzinfo=None) >= midnight:
        return low
    while high - low > _MICROSECOND:
        middle = low + (high - low) // 2
        if middle.astimezone(zone).replace(tzinfo=None) >= midnight:
            high = middle
        else:
            low = middle
    return high


def _merge_pauses(
    pauses: Sequence[Pause],
    *,
    not_before: datetime,
    not_after: datetime | None = None,
    open_until: datetime | None,
) -> list[tuple[datetime, datetime]]:
    """Pauses as sorted, disjoint UTC spans clipped to [not_before, not_after]."""
    spans: list[tuple[datetime, datetime]] = []
    for raw_start, raw_end in pauses:
        start = _as_utc(raw_start, "pause start")
        if raw_end is not None:
            end = _as_utc(raw_end, "pause end")
        elif open_until is not None:
            end = open_until
        else:
            raise ValueError("An open pause needs an instant to run until.")
        if end < start and raw_end is None:
            raise ValueError(f"`now` ({end.isoformat()}) is before the open pause started ({start.isoformat()}).")
        if end < start:
            raise ValueError(f"A pause ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
        start = max(start, not_before)
        if not_after is not None:
            end = min(end, not_after)
        if start < end:
            spans.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
