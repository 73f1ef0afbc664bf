"""Quiet hours on the practice's wall clock, including the days clocks change."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from store.quiet import (
    QuietHours,
    in_quiet_hours,
    last_allowed_before,
    next_allowed,
    parse_quiet_hours,
    place_reminder,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
NIGHT = QuietHours(time(21, 0), time(8, 0))
MINUTE = timedelta(minutes=1)

# The 2026 changes: spring forward, then fall back.
DST_DAYS = [
    (NEW_YORK, "2026-03-08"),
    (NEW_YORK, "2026-11-01"),
    (LONDON, "2026-03-29"),
    (LONDON, "2026-10-25"),
]


def local(text: str, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The UTC instant of a practice wall-clock time."""
    wall = datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)
    return wall.astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Parsing


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("21:00-08:00", time(21), time(8)),
        (" 9:30 - 17:45 ", time(9, 30), time(17, 45)),
        ("00:00-06:00", time(0), time(6)),
        ("23:59-00:01", time(23, 59), time(0, 1)),
    ],
)
def test_parse_quiet_hours(text: str, start: time, end: time) -> None:
    assert parse_quiet_hours(text) == QuietHours(start, end)


def test_empty_quiet_hours_means_none() -> None:
    assert parse_quiet_hours("") is None
    assert parse_quiet_hours("   ") is None


@pytest.mark.parametrize(
    "text",
    [
        "9pm-8am",
        "21:00",
        "21-08",
        "24:00-08:00",
        "21:60-08:00",
        "21:00-08:00-09:00",
        "21:00 to 08:00",
        "-",
    ],
)
def test_parse_quiet_hours_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match="21:00-08:00"):
        parse_quiet_hours(text)


def test_window_that_starts_when_it_ends_is_refused() -> None:
    with pytest.raises(ValueError, match="different times"):
        parse_quiet_hours("08:00-08:00")


def test_quiet_hours_reads_back_as_written() -> None:
    assert str(NIGHT) == "21:00-08:00"
    assert str(parse_quiet_hours("9:05-17:00")) == "09:05-17:00"


# Inside or outside


@pytest.mark.parametrize(
    ("wall", "quiet"),
    [
        ("2026-06-10T20:59:59", False),
        ("2026-06-10T21:00:00", True),
        ("2026-06-10T23:59:00", True),
        ("2026-06-11T00:00:00", True),
        ("2026-06-11T07:59:59", True),
        ("2026-06-11T08:00:00", False),
        ("2026-06-11T12:00:00", False),
    ],
)
def test_window_wraps_midnight_start_in_end_out(wall: str, quiet: bool) -> None:
    assert in_quiet_hours(local(wall, NEW_YORK), NEW_YORK, NIGHT) is quiet


def test_window_is_read_on_the_practice_clock_not_utc() -> None:
    # 02:00 UTC is 22:00 the evening before in New York, 03:00 in London.
    instant = utc("2026-06-11T02:00")

    assert in_quiet_hours(instant, NEW_YORK, NIGHT)
    assert in_quiet_hours(instant, LONDON, NIGHT)
    assert not in_quiet_hours(utc("2026-06-11T12:30"), NEW_YORK, NIGHT)


def test_daytime_window_does_not_wrap() -> None:
    lunch = QuietHours(time(12), time(13))

    assert in_quiet_hours(local("2026-06-10T12:30", LONDON), LONDON, lunch)
    assert not in_quiet_hours(local("2026-06-10T13:00", LONDON), LONDON, lunch)
    assert not in_quiet_hours(local("2026-06-10T23:00", LONDON), LONDON, lunch)


def test_no_window_is_never_quiet() -> None:
    instant = local("2026-06-10T03:00", NEW_YORK)

    assert not in_quiet_hours(instant, NEW_YORK, None)
    assert next_allowed(instant, NEW_YORK, None) == instant
    assert last_allowed_before(instant, NEW_YORK, None) == instant


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 6, 10, 3, 0)

    with pytest.raises(ValueError, match="timezone-aware"):
        in_quiet_hours(naive, NEW_YORK, NIGHT)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(naive, NEW_YORK, NIGHT)
    with pytest.raises(ValueError, match="timezone-aware"):
        last_allowed_before(naive, NEW_YORK, NIGHT)


# Next allowed and last allowed, ordinary days


def test_next_allowed_keeps_an_allowed_instant() -> None:
    instant = local("2026-06-10T14:03:27", NEW_YORK)

    assert next_allowed(instant, NEW_YORK, NIGHT) == instant


def test_next_allowed_is_the_window_end() -> None:
    assert next_allowed(local("2026-06-10T22:15", NEW_YORK), NEW_YORK, NIGHT) == local(
        "2026-06-11T08:00", NEW_YORK
    )
    assert next_allowed(local("2026-06-11T03:00", NEW_YORK), NEW_YORK, NIGHT) == local(
        "2026-06-11T08:00", NEW_YORK
    )


def test_last_allowed_before_is_one_minute_before_the_window() -> None:
    assert last_allowed_before(
        local("2026-06-11T03:00", NEW_YORK), NEW_YORK, NIGHT
    ) == local("2026-06-10T20:59", NEW_YORK)
    assert last_allowed_before(
        local("2026-06-10T21:00", NEW_YORK), NEW_YORK, NIGHT
    ) == local("2026-06-10T20:59", NEW_YORK)


def test_last_allowed_before_keeps_an_allowed_instant() -> None:
    instant = local("2026-06-10T20:59:59", NEW_YORK)

    assert last_allowed_before(instant, NEW_YORK, NIGHT) == instant


def test_results_are_utc() -> None:
    instant = datetime(2026, 6, 10, 23, 0, tzinfo=NEW_YORK)

    assert next_allowed(instant, NEW_YORK, NIGHT).tzinfo is UTC
    result = last_allowed_before(instant, NEW_YORK, NIGHT)
    assert result is not None and result.tzinfo is UTC


# The days the clocks change


@pytest.mark.parametrize(
    ("zone", "day", "end_utc"),
    [
        (NEW_YORK, "2026-03-08", "2026-03-08T12:00"),  # 08:00 EDT
        (NEW_YORK, "2026-11-01", "2026-11-01T13:00"),  # 08:00 EST
        (LONDON, "2026-03-29", "2026-03-29T07:00"),  # 08:00 BST
        (LONDON, "2026-10-25", "2026-10-25T08:00"),  # 08:00 GMT
    ],
)
def test_window_end_on_dst_day_is_eight_local(
    zone: ZoneInfo, day: str, end_utc: str
) -> None:
    # 00:30 is before the change; the window spans it.
    night = local(f"{day}T00:30", zone)

    assert next_allowed(night, zone, NIGHT) == utc(end_utc)
    assert next_allowed(night, zone, NIGHT).astimezone(zone).hour == 8


@pytest.mark.parametrize(
    ("zone", "day", "start_utc"),
    [
        (NEW_YORK, "2026-03-08", "2026-03-08T01:59"),  # 20:59 EST the day before
        (NEW_YORK, "2026-11-01", "2026-11-01T00:59"),  # 20:59 EDT the day before
        (LONDON, "2026-03-29", "2026-03-28T20:59"),  # 20:59 GMT
        (LONDON, "2026-10-25", "2026-10-24T19:59"),  # 20:59 BST
    ],
)
def test_evening_before_dst_day_is_twenty_fifty_nine_local(
    zone: ZoneInfo, day: str, start_utc: str
) -> None:
    # 07:30 local is after the change and still inside the night window.
    morning = local(f"{day}T07:30", zone)

    result = last_allowed_before(morning, zone, NIGHT)

    assert result == utc(start_utc)
    assert result.astimezone(zone).time() == time(20, 59)


def test_window_end_in_the_spring_gap_takes_effect_at_the_jump() -> None:
    # On 2026-03-08 New York clocks go from 01:59:59 EST to 03:00 EDT, so
    # 02:30 never shows; the first allowed instant is the jump itself.
    window = parse_quiet_hours("22:00-02:30")

    result = next_allowed(local("2026-03-08T01:00", NEW_YORK), NEW_YORK, window)

    assert result == utc("2026-03-08T07:00")
    assert result.astimezone(NEW_YORK).time() == time(3, 0)


def test_window_start_in_the_spring_gap_begins_at_the_jump() -> None:
    window = parse_quiet_hours("02:30-06:00")

    result = last_allowed_before(local("2026-03-08T05:00", NEW_YORK), NEW_YORK, window)

    assert result == local("2026-03-08T01:59", NEW_YORK)


def test_window_end_in_the_repeated_hour_is_its_first_showing() -> None:
    # On 2026-11-01 New York shows 01:00-01:59 twice, first EDT then EST.
    window = parse_quiet_hours("22:00-01:30")

    first = next_allowed(local("2026-11-01T00:45", NEW_YORK), NEW_YORK, window)

    assert first == local("2026-11-01T01:30", NEW_YORK, fold=0)
    assert first == utc("2026-11-01T05:30")


def test_clock_falling_back_into_the_window_is_quiet_again() -> None:
    # After 01:59 EDT the clock reads 01:00 EST, inside 22:00-01:30 once more,
    # until 01:30 EST.
    window = parse_quiet_hours("22:00-01:30")
    again = local("2026-11-01T01:10", NEW_YORK, fold=1)

    assert in_quiet_hours(again, NEW_YORK, window)
    assert next_allowed(again, NEW_YORK, window) == utc("2026-11-01T06:30")


def test_clock_falling_back_out_of_the_window_is_allowed_at_once() -> None:
    # With 01:30-05:00 quiet, 01:59 EDT is quiet but the next second reads
    # 01:00 EST, which is not.
    window = parse_quiet_hours("01:30-05:00")
    inside = local("2026-11-01T01:45", NEW_YORK, fold=0)

    assert next_allowed(inside, NEW_YORK, window) == utc("2026-11-01T06:00")


WINDOWS = ["21:00-08:00", "01:30-05:00", "00:30-01:30", "02:30-06:00", "22:00-02:30"]


def brute_next(instant: datetime, zone: ZoneInfo, window: QuietHours) -> datetime:
    if not in_quiet_hours(instant, zone, window):
        return instant
    step = instant.replace(second=0, microsecond=0) + MINUTE
    while in_quiet_hours(step, zone, window):
        step += MINUTE
    return step


def brute_last(instant: datetime, zone: ZoneInfo, window: QuietHours) -> datetime:
    if not in_quiet_hours(instant, zone, window):
        return instant
    step = instant.replace(second=0, microsecond=0)
    while in_quiet_hours(step, zone, window):
        step -= MINUTE
    return step


@pytest.mark.parametrize(("zone", "day"), DST_DAYS)
@pytest.mark.parametrize("text", WINDOWS)
def test_matches_a_minute_by_minute_scan_around_dst(
    zone: ZoneInfo, day: str, text: str
) -> None:
    window = parse_quiet_hours(text)
    assert window is not None
    start = local(f"{day}T00:00", zone) - timedelta(hours=12)

    for step in range(0, 48 * 60, 11):
        instant = start + timedelta(minutes=step, seconds=13)
        assert next_allowed(instant, zone, window) == brute_next(
            instant, zone, window
        ), instant
        assert last_allowed_before(instant, zone, window) == brute_last(
            instant, zone, window
        ), instant


# Placing a reminder


def test_reminder_outside_quiet_hours_keeps_its_time() -> None:
    due = local("2026-06-10T09:00", NEW_YORK)
    starts = due + timedelta(hours=24)

    assert (
        place_reminder(due, starts, NEW_YORK, NIGHT, timedelta(hours=1), now=due) == due
    )


def test_reminder_in_the_night_moves_to_the_morning_when_lead_allows() -> None:
    starts = local("2026-06-11T09:00", NEW_YORK)
    due = starts - timedelta(hours=2)  # 07:00, quiet
    now = local("2026-06-10T12:00", NEW_YORK)

    placed = place_reminder(due, starts, NEW_YORK, NIGHT, timedelta(hours=1), now)

    assert placed == local("2026-06-11T08:00", NEW_YORK)


def test_reminder_goes_the_evening_before_when_morning_is_too_late() -> None:
    starts = local("2026-06-11T08:30", NEW_YORK)
    due = starts - timedelta(hours=2)  # 06:30; 08:00 leaves only 30 minutes
    now = local("2026-06-10T12:00", NEW_YORK)

    placed = place_reminder(due, starts, NEW_YORK, NIGHT, timedelta(hours=1), now)

    assert placed == local("2026-06-10T20:59", NEW_YORK)


def test_reminder_is_skipped_when_the_evening_before_has_passed() -> None:
    starts = local("2026-06-11T08:30", NEW_YORK)
    due = starts - timedelta(hours=2)
    booked_late = local("2026-06-10T23:00", NEW_YORK)

    placed = place_reminder(
        due, starts, NEW_YORK, NIGHT, timedelta(hours=1), booked_late
    )

    assert placed is None


def test_reminder_lead_exactly_at_the_minimum_is_enough() -> None:
    starts = local("2026-06-11T09:00", NEW_YORK)
    due = local("2026-06-11T07:59", NEW_YORK)

    placed = place_reminder(
        due, starts, NEW_YORK, NIGHT, timedelta(hours=1), now=due - timedelta(days=1)
    )

    assert placed == local("2026-06-11T08:00", NEW_YORK)


def test_reminders_over_spring_forward_are_absolute_and_local_correct() -> None:
    # A 09:00 EDT visit on the day clocks jump: the 24 h reminder is 24 real
    # hours earlier, which the wall clock the day before reads as 08:00 EST.
    starts = local("2026-03-08T09:00", NEW_YORK)
    now = local("2026-03-01T12:00", NEW_YORK)
    lead = timedelta(hours=1)

    day_before = place_reminder(
        starts - timedelta(hours=24), starts, NEW_YORK, NIGHT, lead, now
    )
    same_day = place_reminder(
        starts - timedelta(hours=2), starts, NEW_YORK, NIGHT, lead, now
    )

    assert day_before == utc("2026-03-07T13:00")
    assert day_before.astimezone(NEW_YORK).time() == time(8, 0)
    assert same_day == utc("2026-03-08T12:00")
    assert same_day.astimezone(NEW_YORK).time() == time(8, 0)


def test_reminder_over_fall_back_lands_at_eight_local() -> None:
    starts = local("2026-10-25T09:00", LONDON)
    now = local("2026-10-20T12:00", LONDON)

    placed = place_reminder(
        starts - timedelta(hours=2), starts, LONDON, NIGHT, timedelta(hours=1), now
    )

    assert placed == utc("2026-10-25T08:00")


def test_reminder_without_quiet_hours_is_never_moved() -> None:
    starts = local("2026-06-11T04:00", NEW_YORK)
    due = starts - timedelta(hours=2)

    assert place_reminder(due, starts, NEW_YORK, None, timedelta(hours=1), due) == due


def test_place_reminder_defaults_now_to_the_current_time() -> None:
    starts = datetime.now(UTC) + timedelta(days=400)
    starts = starts.astimezone(NEW_YORK).replace(hour=8, minute=30).astimezone(UTC)
    due = starts - timedelta(hours=2)

    placed = place_reminder(due, starts, NEW_YORK, NIGHT, timedelta(hours=1))

    assert placed is not None
    assert placed.astimezone(NEW_YORK).time() == time(20, 59)
