"""Durations as config.toml writes them ('90s', '15m', '2h', '1d') and as staff
read them ('1 h 30 min')."""

import re
from datetime import timedelta

_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_HINT = "a duration like '90s', '15m', '2h', '1d' or '1h30m'"


def parse_duration(text: str) -> timedelta:
    """Read '90s', '15m', '2h', '1d' or a mix like '1h30m' into a timedelta.

    Spaces and upper case are allowed. Raises ValueError saying the accepted
    form for anything else, including negative or fractional numbers.
    """
    compact = re.sub(r"\s+", "", text).lower() if isinstance(text, str) else ""
    if not _DURATION.fullmatch(compact):
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")

    seconds = sum(
        int(number) * _UNIT_SECONDS[unit]
        for number, unit in _DURATION_PART.findall(compact)
    )
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is far too long a duration") from None


def format_duration(span: timedelta) -> str:
    """Write a duration the way config.toml takes it: '2h', '1h30m', '2d'.

    Whole seconds only; a fraction is dropped. ``parse_duration`` reads the
    result back to the same value. Raises ValueError for a negative span.
    """
    return "".join(f"{n}{unit}" for n, unit in _split(span, "d", "h", "m", "s"))


def describe_duration(span: timedelta) -> str:
    """Write a duration for staff: '24 h', '1 h 30 min', '45 s', '2 d'.

    Raises ValueError for a negative span.
    """
    parts = _split(span, "d", "h", "min", "s")
    return " ".join(f"{n} {unit}" for n, unit in parts)


def _split(span: timedelta, *units: str) -> list[tuple[int, str]]:
    """Break a span into days (only past 48 hours), hours, minutes, seconds."""
    seconds = int(span.total_seconds())
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {span}")
    if seconds == 0:
        return [(0, units[3])]

    days = seconds // 86400 if seconds >= 2 * 86400 and seconds % 86400 == 0 else 0
    seconds -= days * 86400
    counts = (days, seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return [(n, unit) for n, unit in zip(counts, units, strict=True) if n]
