"""Reading the days and times staff type, in practice time."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from store.errors import InvalidInput
from tui.when import parse_clock, parse_day, parse_when

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)  # Wednesday 09:00 in New York
TODAY = date(2026, 12, 9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-14 09:30", datetime(2026, 12, 14, 14, 30, tzinfo=UTC)),
        ("today 15:00", datetime(2026, 12, 9, 20, 0, tzinfo=UTC)),
        ("tomorrow 9:30", datetime(2026, 12, 10, 14, 30, tzinfo=UTC)),
        ("Tomorrow 3:15pm", datetime(2026, 12, 10, 20, 15, tzinfo=UTC)),
        ("friday 8am", datetime(2026, 12, 11, 13, 0, tzinfo=UTC)),
        ("16:45", datetime(2026, 12, 9, 21, 45, tzinfo=UTC)),
        ("now", NOW),
    ],
)
def test_times_are_read_in_practice_time(text, expected):
    assert parse_when(text, now=NOW, zone=NEW_YORK) == expected


def test_summer_time_is_applied_on_its_dates():
    # 1 July is EDT, UTC-4.
    assert parse_when("2026-07-01 09:00", now=NOW, zone=NEW_YORK) == datetime(
        2026, 7, 1, 13, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["", "tomorrow", "soon 9:00", "today 25:00", "13pm"])
def test_what_cannot_be_read_names_the_field_and_shows_examples(text):
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, zone=NEW_YORK, field="starts_at")

    assert caught.value.field == "starts_at"


def test_days():
    assert parse_day("", TODAY) == TODAY
    assert parse_day("yesterday", TODAY) == date(2026, 12, 8)
    assert parse_day("wed", TODAY) == TODAY
    assert parse_day("Monday", TODAY) == date(2026, 12, 14)
    with pytest.raises(InvalidInput, match="like 2026-12-14"):
        parse_day("14/12", TODAY)


def test_twelve_oclock():
    assert parse_clock("12am").hour == 0
    assert parse_clock("12pm").hour == 12
    assert parse_clock("9.05").minute == 5
