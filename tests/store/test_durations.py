"""Durations as config.toml writes them: read, refused, and written back."""

from datetime import timedelta

import pytest

from store.durations import describe_duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 2 H ", timedelta(hours=2)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2", "h", "2 hours", "-5m", "1.5h", "2w", "10**9d", "9" * 30 + "d"]
)
def test_parse_duration_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_duration_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="like '90s'"):
        parse_duration(90)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("span", "compact", "spoken"),
    [
        (timedelta(hours=24), "24h", "24 h"),
        (timedelta(hours=2), "2h", "2 h"),
        (timedelta(days=2), "2d", "2 d"),
        (timedelta(minutes=90), "1h30m", "1 h 30 min"),
        (timedelta(seconds=45), "45s", "45 s"),
        (timedelta(hours=36), "36h", "36 h"),
        (timedelta(0), "0s", "0 s"),
    ],
)
def test_format_and_describe_duration(
    span: timedelta, compact: str, spoken: str
) -> None:
    assert format_duration(span) == compact
    assert describe_duration(span) == spoken
    assert parse_duration(compact) == span


def test_negative_durations_cannot_be_written() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        describe_duration(timedelta(seconds=-1))
