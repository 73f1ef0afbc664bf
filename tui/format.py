"""How the screens write times, spans and reminder states for the desk."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from store.models import MessageStatus, ScheduledMessage
from store.phones import format_phone
from store.reminders import describe_span

# A mark beside each status, so states read at a glance without colour too.
STATUS_MARKS = {
    MessageStatus.PENDING: "◷",
    MessageStatus.SENDING: "…",
    MessageStatus.SENT: "✓",
    MessageStatus.FAILED: "✗",
    MessageStatus.CANCELLED: "–",
    MessageStatus.EXPIRED: "⌛",
    MessageStatus.UNKNOWN: "?",
}


@lru_cache(maxsize=4096)
def phone_label(phone: str, region: str) -> str:
    """A number as staff write it; remembered, as parsing costs more than a
    whole row of a list, and the same numbers come back page after page."""
    return format_phone(phone, region)


def day_label(day: date) -> str:
    """'Wed 9 Dec 2026'."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def clock(instant: datetime, zone: ZoneInfo) -> str:
    """'09:30' on the practice's clock."""
    return f"{instant.astimezone(zone):%H:%M}"


def when_label(instant: datetime, zone: ZoneInfo, today: date) -> str:
    """'09:30' today, 'Tue 8 Dec 09:30' on another day of the year, with the
    year added further out."""
    local = instant.astimezone(zone)
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local:%a} {local.day} {local:%b %H:%M}"
    return f"{local.day} {local:%b %Y %H:%M}"


def age_label(span: timedelta) -> str:
    """How long ago, in the desk's words: '40 s', '12 min', '3 h 5 min'."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    return describe_span(span)


def status_text(status: str) -> str:
    """'✓ sent', '✗ failed'."""
    return f"{STATUS_MARKS.get(MessageStatus(status), '')} {status}".strip()


def reminder_state(row: ScheduledMessage, zone: ZoneInfo, day: date) -> str:
    """One reminder as '24 h ✓ sent' or '2 h pending 07:30'."""
    span = describe_span(timedelta(seconds=row.reminder_offset or 0))
    if row.status == MessageStatus.PENDING:
        return f"{span} pending {when_label(row.due_at, zone, day)}"
    return f"{span} {status_text(row.status)}"


def latest_per_offset(rows: Iterable[ScheduledMessage]) -> list[ScheduledMessage]:
    """The newest row for each reminder offset, longest offset first: older
    rows are history (cancelled by a move, or sent for an earlier time)."""
    latest: dict[int, ScheduledMessage] = {}
    for row in rows:
        offset = row.reminder_offset or 0
        if offset not in latest or row.id > latest[offset].id:
            latest[offset] = row
    return [latest[key] for key in sorted(latest, reverse=True)]


def reminder_summary(
    rows: Iterable[ScheduledMessage], zone: ZoneInfo, day: date
) -> str:
    """'24 h ✓ sent · 2 h pending 07:30', or '' when there are none."""
    return " · ".join(reminder_state(r, zone, day) for r in latest_per_offset(rows))
