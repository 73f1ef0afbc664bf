"""How the commands show things: practice times, UTC times, tables, JSON."""

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from store.models import Practice, ScheduledMessage
from store.phones import format_phone
from store.reminders import describe_span, reminder_label


def local_time(practice: Practice, instant: datetime | None) -> str:
    """An instant as the practice's wall clock, with the zone's abbreviation."""
    if instant is None:
        return "-"
    return f"{practice.local(instant):%Y-%m-%d %H:%M %Z}"


def utc_z(instant: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second; None stays None."""
    if instant is None:
        return None
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(span: timedelta) -> str:
    if span < timedelta(minutes=1):
        return f"{max(0, int(span.total_seconds()))} s"
    return describe_span(span)


def message_record(message: ScheduledMessage) -> dict[str, Any]:
    """A message as `frontdesk messages --json` gives it."""
    return {
        "id": message.id,
        "status": message.status,
        "kind": message.kind,
        "to": message.to_number,
        "patient_id": message.patient_id,
        "appointment_id": message.appointment_id,
        "reminder_offset": message.reminder_offset,
        "scheduled_at": utc_z(message.scheduled_for),
        "due_at": utc_z(message.due_at),
        "sent_at": utc_z(message.sent_at),
        "attempts": message.attempts,
        "provider_sid": message.provider_sid or None,
        "segments": message.segments,
        "last_error_code": message.last_error_code or None,
        "last_error": message.last_error or None,
        "body": message.body or None,
    }


def message_row(practice: Practice, message: ScheduledMessage) -> list[str]:
    """A message as one line of the `frontdesk messages` table."""
    what = message.kind
    if message.reminder_offset is not None:
        what = reminder_label(message.reminder_offset)
    when = message.sent_at or message.due_at
    return [
        str(message.id),
        message.status,
        what,
        format_phone(message.to_number, practice.region),
        local_time(practice, when),
        str(message.attempts),
        _shorten(message.last_error, 48),
    ]


MESSAGE_HEADERS = ["ID", "STATUS", "KIND", "TO", "WHEN", "TRIES", "NOTE"]


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO | None = None
) -> None:
    """Columns padded to their widest cell; the last column is left ragged."""
    out = out or sys.stdout
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [list(headers), *rows]:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip(), file=out)


def print_json(value: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    json.dump(value, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _shorten(text: str, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


class ProgressBar:
    """A one-line text bar on a terminal, redrawn in place."""

    def __init__(self, label: str, out: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.out = out or sys.stderr
        self.width = width
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        self.out.write(f"\r{self.label} [{bar}] {done}/{total}")
        self.out.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
