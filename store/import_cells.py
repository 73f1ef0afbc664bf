"""Reading one cell of an export: start times in practice time, lengths and
yes/no consent, each refused with a sentence naming what is wrong."""

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from store.durations import parse_duration
from store.errors import InvalidInput

YES_WORDS = {"yes", "y", "true", "t", "1", "x", "opted in", "opt in", "granted"}
NO_WORDS = {"no", "n", "false", "f", "0", "opted out", "opt out", "declined"}
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p")
ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CellError(Exception):
    """One cell's value is wrong; ``field_name`` says which field."""

    def __init__(self, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


def practice_time_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Read a naive wall-clock time as practice time and return it in UTC.

    A time the clocks skip (spring forward) raises InvalidInput; a time they
    repeat (fall back) means its first occurrence. An aware time is only
    converted.
    """
    try:
        if local.tzinfo is not None:
            return local.astimezone(UTC)

        first = local.replace(tzinfo=zone, fold=0)
        back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        # Near year 1 or 9999 the conversion leaves the calendar Python has.
        raise InvalidInput(
            f"{local:%Y-%m-%d %H:%M} is outside the dates frontdesk can handle. "
            "Check the year.",
            field="starts_at",
        ) from None
    if back != local:
        raise InvalidInput(
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks "
            "go forward over it that night. Check the time.",
            field="starts_at",
        )
    return first.astimezone(UTC)


def read_start(values: dict[str, str], date_format: str | None) -> datetime:
    if "starts_at" in values:
        text = values["starts_at"]
        if not text:
            raise CellError("starts_at", "is empty; the appointment needs a start.")
        return parse_datetime(text, date_format, "starts_at")

    day, clock = values.get("date", ""), values.get("time", "")
    if not day:
        raise CellError("date", "is empty; the appointment needs a date.")
    if not clock:
        raise CellError("time", "is empty; the appointment needs a start time.")

    if date_format:
        try:
            return datetime.strptime(f"{day} {clock}", date_format)
        except ValueError:
            if re.search(r"%[HIMpSTXcR]", date_format):
                raise CellError(
                    "date",
                    f"'{day} {clock}' does not match the date format '{date_format}'.",
                ) from None
        try:
            return datetime.combine(
                datetime.strptime(day, date_format).date(), parse_time(clock)
            )
        except ValueError:
            raise CellError(
                "date", f"'{day}' does not match the date format '{date_format}'."
            ) from None

    try:
        parsed_day = date.fromisoformat(day)
    except ValueError as exc:
        raise CellError("date", date_problem(day, exc)) from None
    return datetime.combine(parsed_day, parse_time(clock))


def parse_datetime(text: str, date_format: str | None, column: str) -> datetime:
    if date_format:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            raise CellError(
                column, f"'{text}' does not match the date format '{date_format}'."
            ) from None

    if ":" not in text[10:]:
        raise CellError(
            column,
            f"'{text}' has no time of day; write it like 2026-12-14 09:30.",
        )
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise CellError(column, date_problem(text, exc)) from None


def date_problem(text: str, exc: ValueError) -> str:
    if ISO_SHAPE.match(text) and "range" in str(exc):
        return f"'{text}' is not a real date ({exc})."
    return (
        f"'{text}' is not a date frontdesk can read; write it like 2026-12-14 "
        "09:30, or give the file's format with --date-format (for example "
        "'%m/%d/%Y %I:%M %p')."
    )


def parse_time(text: str) -> time:
    compact = " ".join(text.upper().replace(".", "").split())
    for layout in TIME_FORMATS:
        try:
            return datetime.strptime(compact, layout).time()
        except ValueError:
            continue
    raise CellError(
        "time", f"'{text}' is not a time of day; write it like 09:30 or 2:30 PM."
    )


def read_duration(text: str) -> int | None:
    if not text:
        return None

    lowered = text.strip().lower()
    match = re.fullmatch(r"(\d{1,5})\s*(m|min|mins|minutes)?", lowered)
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", lowered)
    if match:
        minutes = int(match.group(1))
    elif clock:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
    else:
        try:
            minutes = int(parse_duration(lowered).total_seconds() // 60)
        except ValueError:
            raise CellError(
                "duration_minutes",
                f"'{text}' is not a length in minutes; write it like 30 or 1h30m.",
            ) from None

    if not 1 <= minutes <= 24 * 60:
        raise CellError(
            "duration_minutes",
            f"'{text}' is not a length from 1 minute to 24 hours.",
        )
    return minutes


def read_consent(text: str) -> bool | None:
    word = " ".join(text.lower().replace("-", " ").split())
    if not word:
        return None
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise CellError("sms_consent", f"'{text}' is not yes or no.")
