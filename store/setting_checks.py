"""Checks for each kind of config.toml value.

Each returns the value to keep, or raises ValueError with the rest of the
sentence "[section] key ...", so the loader can name the file and the key.
"""

import difflib
import re
import string
import zoneinfo
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any, TypeVar

import phonenumbers

from store.durations import (
    DURATION_HINT,
    describe_duration,
    format_duration,
    parse_duration,
)
from store.quiet import QuietHours, parse_quiet_hours
from store.sms import MAX_BODY

T = TypeVar("T")

TEMPLATE_PLACEHOLDERS = ("first_name", "practice", "provider", "date", "time")
# Replies that carriers, not the practice, act on: a patient who answers with
# one of these is unsubscribed from every text, silently. STOP is left out on
# purpose: "Reply STOP to opt out" is the wording carriers expect.
CARRIER_KEYWORDS = ("CANCEL", "END", "QUIT", "UNSUBSCRIBE", "STOPALL")
_KEYWORD = re.compile(r"\b(" + "|".join(CARRIER_KEYWORDS) + r")\b", re.IGNORECASE)
MAX_OFFSET = timedelta(days=7)


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def quoted_text(value: Any, what: str, longest: int, lines: bool = False) -> str | None:
    if not isinstance(value, str):
        raise ValueError(f"must be {what} in quotes, got {shown(value)}")
    value = value.strip()
    printable = value.replace("\n", "") if lines else value
    if len(value) > longest or not printable.isprintable():
        where = "" if lines else " on one line"
        raise ValueError(
            f"must be {what}{where}, at most {longest} characters, got {shown(value)}"
        )
    return value or None


def practice_name(value: Any) -> str | None:
    return quoted_text(value, "the practice's name", 100)


def timezone(value: Any) -> str | None:
    zone = quoted_text(value, "a time zone name", 64)
    if zone is None:
        return None
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        near = difflib.get_close_matches(zone, zoneinfo.available_timezones(), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(
            "must be an IANA time zone such as 'America/New_York' or "
            f"'Europe/London', got {shown(zone)}{hint}"
        ) from None
    return zone


def region(value: Any) -> str | None:
    region = quoted_text(value, "a region code", 3)
    if region is None:
        return None
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            "must be a two-letter region code such as 'US', 'GB' or 'AU', "
            f"got {shown(region)}"
        )
    return region.upper()


def whole(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"must be a whole number from {low} to {high}, got {shown(value)}"
            )
        if not low <= value <= high:
            raise ValueError(
                f"must be a whole number from {low} to {high}, got {value}"
            )
        return value

    return check


def backend(value: Any) -> str:
    if value not in ("auto", "twilio", "outbox"):
        raise ValueError(
            f"must be one of 'auto', 'twilio' or 'outbox', got {shown(value)}"
        )
    return value


def from_number(value: Any) -> str | None:
    number = quoted_text(value, "a phone number", 20)
    if number is not None and not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        raise ValueError(
            "must be a phone number in E.164 form, '+' then country code and "
            f"number with no spaces, such as '+15005550006', got {shown(number)}"
        )
    return number


def sid(prefix: str, what: str, hidden: bool) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        found = secret(value) if hidden else quoted_text(value, what, 64)
        if found is not None and not found.startswith(prefix):
            got = "a value" if hidden else shown(found)
            raise ValueError(
                f"must be {what}, which starts with '{prefix}', got {got} that does not"
            )
        return found

    return check


def secret(value: Any) -> str | None:
    # The value itself is never quoted back: error messages reach logs.
    if not isinstance(value, str):
        raise ValueError("must be text in quotes")
    value = value.strip()
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("must be a single word with no spaces; check the copy")
    return value or None


def api_base(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(
        r"https?://[^\s/?#]+(/[^\s?#]*)?", value.strip()
    ):
        raise ValueError(
            f"must be a web address starting with https://, got {shown(value)}"
        )
    return value.strip().rstrip("/")


# Every window must cover this local time: one that does not is almost
# surely written the wrong way round, the hours texts may go rather than the
# hours they may not, and would send them at night.
SMALL_HOURS = time(3, 0)


def quiet_hours(value: Any) -> QuietHours | None:
    try:
        window = parse_quiet_hours(value if isinstance(value, str) else "?")
    except ValueError:
        raise ValueError(
            "must be a 24-hour range like '21:00-08:00', with different start "
            f"and end, or '' for no quiet hours, got {shown(value)}"
        ) from None
    if window is not None and not window.contains(SMALL_HOURS):
        raise ValueError(
            f"must cover the night, got {shown(value)}: quiet hours are when no "
            f"text goes out, and this would send them at {SMALL_HOURS:%H:%M}. "
            f"Did you mean '{window.end:%H:%M}-{window.start:%H:%M}'?"
        )
    return window


def unset_or(check: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """``check``, except that "" leaves the setting unset (None)."""

    def check_unless_unset(value: Any) -> T | None:
        if value == "":
            return None
        try:
            return check(value)
        except ValueError as exc:
            raise ValueError(f'{exc} (or "" to leave it unset)') from None

    return check_unless_unset


def duration_between(low: timedelta, high: timedelta) -> Callable[[Any], timedelta]:
    allowed = f"from {format_duration(low)} to {format_duration(high)}"

    def check(value: Any) -> timedelta:
        try:
            span = parse_duration(value)
        except ValueError:
            raise ValueError(
                f"must be {DURATION_HINT}, {allowed}, got {shown(value)}"
            ) from None
        if not low <= span <= high:
            raise ValueError(f"must be {allowed}, got {shown(value)}")
        return span

    return check


def offsets(value: Any) -> tuple[timedelta, ...]:
    if not isinstance(value, list):
        raise ValueError(
            f'must be a list of durations like ["24h", "2h"], got {shown(value)}'
        )

    spans: list[timedelta] = []
    for item in value:
        try:
            span = parse_duration(item)
        except ValueError:
            raise ValueError(
                f"must list durations like '24h' or '2h', got {shown(item)}"
            ) from None
        if not timedelta(0) < span <= MAX_OFFSET:
            raise ValueError(
                f"must each be more than 0 and at most 7d, got {shown(item)}"
            )
        if span in spans:
            raise ValueError(
                f"lists {describe_duration(span)} twice; each offset must be unique"
            )
        spans.append(span)

    return tuple(sorted(spans, reverse=True))


def reminder_template(value: Any) -> str:
    template = quoted_text(value, "the reminder text", MAX_BODY, lines=True)
    if template is None:
        raise ValueError("must not be empty")

    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        raise ValueError(
            "has a '{' or '}' that is not part of a placeholder; write {{ or }} "
            "for a literal brace"
        ) from None
    allowed = ", ".join("{" + name + "}" for name in TEMPLATE_PLACEHOLDERS)
    for _, name, spec, conversion in fields:
        if name is not None and name not in TEMPLATE_PLACEHOLDERS:
            raise ValueError(
                f"uses {{{name}}}, which is not a placeholder; the placeholders "
                f"are {allowed}"
            )
        if name is not None and (spec or conversion):
            raise ValueError(f"must write {{{name}}} plainly, with no ':' or '!'")

    keyword = _KEYWORD.search(template)
    if keyword:
        word = keyword.group(0)
        raise ValueError(
            f"contains {word!r}, a word carriers treat as an opt-out reply: a "
            f"patient who texts {word.upper()} back is silently unsubscribed "
            "from every text. Reword it (for example 'call us to reschedule') "
            "and keep 'Reply STOP to opt out.'"
        )
    return template
