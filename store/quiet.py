"""Quiet hours: the nightly window of practice wall-clock time with no texts."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_PATTERN = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

# The window is read on the practice's wall clock, and instants are UTC.
# The searches below step from one UTC-offset change to the next, so they stay
# exact on the days clocks move:
# - an edge that falls in the spring-forward gap (02:30 when clocks jump from
#   02:00 to 03:00) takes effect at the jump, the first instant the clock
#   shows a time past it;
# - an edge that falls in the repeated autumn hour takes effect the first time
#   the clock shows it; if the clock then falls back into the window, that
#   repeated stretch is quiet again, because the rule is what the wall says.

# A day always holds at most one offset change in real zones, and both
# searches below cross at most a day plus that change, so a few rounds end them.
_MAX_ROUNDS = 8


@dataclass(frozen=True)
class QuietHours:
    """A daily window [start, end) of wall-clock time; it may wrap midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError(
                "quiet hours must start and end at different times; use an "
                "empty setting to turn them off"
            )

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, wall: time) -> bool:
        """Whether a wall-clock time is inside the window (start in, end out)."""
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Read '21:00-08:00' (24-hour, start-end) into QuietHours; '' gives None.

    None means no quiet hours. Raises ValueError naming the accepted form for
    anything else, including hours past 23, minutes past 59, and a start equal
    to the end.
    """
    if not text.strip():
        return None

    match = _PATTERN.fullmatch(text.strip())
    parts = [int(group) for group in match.groups()] if match else []
    if not parts or parts[0] > 23 or parts[2] > 23 or parts[1] > 59 or parts[3] > 59:
        raise ValueError(
            f"quiet hours must be a 24-hour range like '21:00-08:00', or '' for "
            f"none; got {text!r}"
        )

    return QuietHours(time(parts[0], parts[1]), time(parts[2], parts[3]))


def in_quiet_hours(
    instant_utc: datetime, zone: ZoneInfo, window: QuietHours | None
) -> bool:
    """Whether the practice's wall clock at ``instant_utc`` reads inside the window.

    A window of None is never quiet. Raises ValueError for a naive datetime.
    """
    _require_aware(instant_utc)
    if window is None:
        return False
    return window.contains(_wall(instant_utc, zone).time())


def next_allowed(
    instant_utc: datetime, zone: ZoneInfo, window: QuietHours | None
) -> datetime:
    """Return the earliest UTC instant at or after ``instant_utc`` outside the window.

    The instant itself when it is allowed; otherwise the moment the window
    ends (08:00:00 local for '21:00-08:00'), or the daylight-saving jump that
    carries the clock past the end. Raises ValueError for a naive datetime.
    """
    _require_aware(instant_utc)
    current = instant_utc.astimezone(UTC)
    if window is None:
        return current

    for _ in range(_MAX_ROUNDS):
        wall = _wall(current, zone)
        if not window.contains(wall.time()):
            return current

        end_day = wall.date()
        if wall.time() >= window.end:
            end_day += timedelta(days=1)
        candidate = _at_offset(end_day, window.end, wall.utcoffset())

        if _offset(candidate, zone) == wall.utcoffset():
            return candidate
        current = _offset_change(current, candidate, zone)

    raise RuntimeError(f"no time outside quiet hours {window} near {instant_utc}")


def last_allowed_before(
    instant_utc: datetime, zone: ZoneInfo, window: QuietHours | None
) -> datetime | None:
    """Return the latest UTC instant at or before ``instant_utc`` outside the window.

    The instant itself when it is allowed. Otherwise the answer has minute
    precision: one minute before the window began, 20:59:00 local for
    '21:00-08:00', so a text placed there goes out before the quiet starts.
    None only if no allowed minute exists within the day before (which a
    valid window never causes). Raises ValueError for a naive datetime.
    """
    _require_aware(instant_utc)
    current = instant_utc.astimezone(UTC)
    if window is None:
        return current

    for _ in range(_MAX_ROUNDS):
        wall = _wall(current, zone)
        if not window.contains(wall.time()):
            return current

        start_day = wall.date()
        if wall.time() < window.start:
            start_day -= timedelta(days=1)
        began = _at_offset(start_day, window.start, wall.utcoffset())

        if _offset(began, zone) == wall.utcoffset():
            current = began - timedelta(minutes=1)
        else:
            # The clock jumped into the window; look just before the jump.
            changed = _offset_change(began, current, zone)
            current = changed - timedelta(minutes=1)

    return None


def place_reminder(
    due_utc: datetime,
    starts_at_utc: datetime,
    zone: ZoneInfo,
    window: QuietHours | None,
    min_lead: timedelta,
    now: datetime | None = None,
) -> datetime | None:
    """Choose when a reminder due at ``due_utc`` may go out, or None if never.

    If ``due_utc`` is outside quiet hours it is kept. Otherwise the reminder
    moves later to the window's end when that still leaves at least
    ``min_lead`` before the appointment starts; failing that, earlier to the
    last minute before the window began (the evening before), provided that
    is not before ``now``. None means no acceptable time exists, and the
    caller should skip the reminder and say why. ``now`` defaults to the
    current UTC time. Raises ValueError for naive datetimes.
    """
    _require_aware(starts_at_utc)
    now = datetime.now(UTC) if now is None else now
    _require_aware(now)
    if not in_quiet_hours(due_utc, zone, window):
        return due_utc

    later = next_allowed(due_utc, zone, window)
    if starts_at_utc - later >= min_lead:
        return later

    earlier = last_allowed_before(due_utc, zone, window)
    if earlier is not None and earlier >= now:
        return earlier
    return None


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware UTC datetime, got {instant!r}")


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _at_offset(day: date, wall: time, offset: timedelta | None) -> datetime:
    """The UTC instant a clock running at ``offset`` shows ``day`` ``wall``."""
    naive = datetime.combine(day, wall)
    return (naive - (offset or timedelta())).replace(tzinfo=UTC)


def _offset_change(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (before, after] whose UTC offset differs from
    ``before``'s; the two ends must have different offsets."""
    first = _offset(before, zone)
    low = int(before.timestamp() // 1)
    high = -int(-after.timestamp() // 1)

    while high - low > 1:
        middle = (low + high) // 2
        if _offset(datetime.fromtimestamp(middle, UTC), zone) == first:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
