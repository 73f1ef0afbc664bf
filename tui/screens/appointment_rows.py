"""How an appointment reads in a table row and in the detail line below it."""

from datetime import date
from zoneinfo import ZoneInfo

from rich.text import Text

from store.models import Appointment, AppointmentStatus, MessageStatus, ScheduledMessage
from store.phones import format_phone
from tui.format import clock, latest_per_offset, reminder_summary
from tui.widgets.paged_table import PagedTable, Row

APPOINTMENT_COLUMNS = (
    ("Time", "time"),
    ("Patient", "patient"),
    ("With", "provider"),
    ("Status", "status"),
    ("Reminders", "reminders"),
)

STATUS_TONES = {
    AppointmentStatus.CONFIRMED: "success",
    AppointmentStatus.CANCELLED: "text-muted",
    AppointmentStatus.NO_SHOW: "warning",
}


def add_appointment_columns(table: PagedTable, *, provider: bool = True) -> None:
    for label, key in APPOINTMENT_COLUMNS:
        if provider or key != "provider":
            table.add_column(label, key=key)


def appointment_row(
    table: PagedTable,
    appointment: Appointment,
    reminders: list[ScheduledMessage],
    zone: ZoneInfo,
    day: date,
    *,
    provider: bool = True,
) -> Row:
    """A row: time, patient, provider, status, and the reminders' state, or
    why there are none."""
    status = appointment.status.replace("_", " ")
    tone = STATUS_TONES.get(AppointmentStatus(appointment.status))
    summary = reminder_summary(reminders, zone, day)
    if not summary and appointment.reminder_note:
        summary_cell: Text | str = table.tone(appointment.reminder_note, "text-muted")
    elif any(r.status in _TROUBLE for r in latest_per_offset(reminders)):
        summary_cell = table.tone(summary, "error")
    else:
        summary_cell = summary

    cells = [
        clock(appointment.starts_at, zone),
        appointment.patient.full_name,
        appointment.provider or "—",
        table.tone(status, tone) if tone else status,
        summary_cell,
    ]
    if not provider:
        del cells[2]
    return str(appointment.id), cells


_TROUBLE = (MessageStatus.FAILED, MessageStatus.UNKNOWN)


def appointment_detail(
    appointment: Appointment,
    reminders: list[ScheduledMessage],
    zone: ZoneInfo,
    region: str,
    day: date,
) -> str:
    """Two or three lines about one appointment, for the panel below a table."""
    local = appointment.starts_at.astimezone(zone)
    lines = [
        f"{appointment.patient.full_name} · "
        f"{format_phone(appointment.patient.phone, region)} · "
        f"{local:%a} {local.day} {local:%b %H:%M}, {appointment.duration_minutes} min"
        f" with {appointment.provider or 'the practice'} · "
        f"{appointment.status.replace('_', ' ')}"
    ]
    summary = reminder_summary(reminders, zone, day)
    lines.append(f"Reminders: {summary or 'none'}")
    if appointment.reminder_note:
        lines.append(f"Note: {appointment.reminder_note}")
    return "\n".join(lines)
