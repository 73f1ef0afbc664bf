"""Reading the days and times staff type, in practice time."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from store.errors import InvalidInput

WHEN_HINT = "like 2026-12-14 09:30, today 15:00 or tomorrow 9:30"
DAY_HINT = "like 2026-12-14, today, tomorrow or monday"

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a|p)?$")


def parse_day(text: str, today: date, *, field: str = "day") -> date:
    """A day typed as 2026-12-14, today, tomorrow, yesterday or a weekday name
    (the next one from today, today included).

    Raises InvalidInput naming ``field`` with an example of what works.
    """
    word = " ".join(text.lower().split())
    if word in ("", "today"):
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)

    if word[:3] in _WEEKDAYS and word.isalpha():
        ahead = (_WEEKDAYS.index(word[:3]) - today.weekday()) % 7
        return today + timedelta(days=ahead)

    try:
        return date.fromisoformat(word)
    except ValueError:
        raise InvalidInput(
            f"'{text.strip()}' is not a day; type one {DAY_HINT}.", field=field
        ) from None


def parse_clock(text: str, *, field: str = "at") -> time:
    """A wall-clock time: 9:30, 09:30, 15:00, 9, 9am, 3:15pm."""
    match = _TIME.match(" ".join(text.lower().split()))
    if match is None:
        raise InvalidInput(
            f"'{text.strip()}' is not a time; type one like 09:30 or 3:15pm.",
            field=field,
        )

    hour, minute = int(match[1]), int(match[2] or 0)
    suffix = match[3]
    if suffix and not 1 <= hour <= 12:
        raise InvalidInput(f"'{text.strip()}' is not a time of day.", field=field)
    if suffix and suffix.startswith("p") and hour != 12:
        hour += 12
    if suffix and suffix.startswith("a") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise InvalidInput(f"'{text.strip()}' is not a time of day.", field=field)
    return time(hour, minute)


def parse_when(
    text: str, *, now: datetime, zone: ZoneInfo, field: str = "at"
) -> datetime:
    """A day and a time in practice time, as an aware UTC-comparable instant.

    "now" means now. The day may be left out ("15:00" is today). Raises
    InvalidInput naming ``field``; whether the time is in the past is the
    store's rule to check, not this parser's.
    """
    words = text.strip().split()
    if not words:
        raise InvalidInput(
            f"Say when: type a day and a time, {WHEN_HINT}.", field=field
        )
    if [w.lower() for w in words] == ["now"]:
        return now

    today = now.astimezone(zone).date()
    if len(words) == 1 and any(ch.isdigit() for ch in words[0]) and "-" not in words[0]:
        day, clock_text = today, words[0]
    elif len(words) >= 2:
        day = parse_day(words[0], today, field=field)
        clock_text = " ".join(words[1:])
    else:
        raise InvalidInput(
            f"'{text.strip()}' needs a time as well; type it {WHEN_HINT}.",
            field=field,
        )

    return datetime.combine(day, parse_clock(clock_text, field=field), tzinfo=zone)
