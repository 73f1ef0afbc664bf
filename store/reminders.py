"""Appointment reminders, kept in step with the appointment they remind about.

A confirmed appointment ahead, for a patient with SMS consent, has one live
reminder per configured offset. Every change to the appointment, the patient's
consent or the reminder settings goes through ``sync_reminders``, so no path
can leave a reminder behind for a cancelled or moved visit.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from store import wakeups
from store.audit import SYSTEM_ACTOR, record_event
from store.consent import current_consent
from store.messages import CANCELLED_BY_STAFF
from store.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    MessageKind,
    MessageStatus,
    Patient,
    Practice,
    ScheduledMessage,
)
from store.quiet import place_reminder

if TYPE_CHECKING:
    from store.settings import Settings

log = logging.getLogger(__name__)

# Region codes whose patients read the clock in 12-hour time.
TWELVE_HOUR_REGIONS = frozenset({"US", "CA", "AU", "NZ", "PH", "IN", "PK", "EG"})


def describe_span(span: timedelta) -> str:
    """A span in the desk's words: "24 h", "3 h 20 min", "45 min", "2 days"."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes >= 48 * 60 and minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} days"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def reminder_label(offset_seconds: int) -> str:
    return f"{describe_span(timedelta(seconds=offset_seconds))} reminder"


def reminder_start(message: ScheduledMessage) -> datetime:
    """The appointment start this reminder was scheduled for."""
    offset = timedelta(seconds=message.reminder_offset or 0)
    return message.scheduled_for.astimezone(UTC) + offset


def sync_reminders(
    appointment: Appointment,
    settings: "Settings",
    *,
    actor: str = SYSTEM_ACTOR,
    now: datetime,
) -> list[ScheduledMessage]:
    """Create, move or cancel the appointment's reminders to match it now.

    Must run inside the transaction that changed the appointment. Returns the
    live reminders afterwards, and leaves in ``appointment.reminder_note`` why
    any are missing.
    """
    practice = appointment.practice
    rows = list(
        ScheduledMessage.for_tenant(practice)
        .where(
            (ScheduledMessage.appointment == appointment)
            & (ScheduledMessage.kind == MessageKind.REMINDER)
        )
        .order_by(ScheduledMessage.id)
    )
    live = {
        row.reminder_offset or 0: row for row in rows if row.status in LIVE_STATUSES
    }

    stop_reason = _why_no_reminders(appointment, now)
    if stop_reason is not None:
        for row in live.values():
            _cancel(row, stop_reason, "appointment", actor, now)
        appointment.reminder_note = _note_for_stop(appointment, now)
        appointment.save()
        return []

    notes = []
    kept: list[ScheduledMessage] = []
    for offset in settings.reminders.offsets:
        kept_row, note = _sync_offset(
            appointment, offset, rows, live, settings, actor, now
        )
        if note:
            notes.append(note)
        if kept_row is not None:
            kept.append(kept_row)

    appointment.reminder_note = "; ".join(notes)
    appointment.save()
    return kept


def sync_patient_reminders(
    practice: Practice,
    patient: Patient,
    settings: "Settings",
    *,
    actor: str,
    now: datetime,
) -> None:
    """Re-sync the reminders of the patient's appointments still ahead."""
    ahead = Appointment.for_tenant(practice).where(
        (Appointment.patient == patient) & (Appointment.starts_at > now)
    )
    for appointment in ahead:
        appointment.practice = practice
        sync_reminders(appointment, settings, actor=actor, now=now)


def _why_no_reminders(appointment: Appointment, now: datetime) -> str | None:
    if appointment.status != AppointmentStatus.CONFIRMED:
        return f"The appointment is {appointment.status.replace('_', ' ')}."
    if appointment.starts_at <= now:
        return "The appointment has started."
    if current_consent(appointment.patient_id) is None:
        return "The patient has not agreed to texts."
    return None


def _note_for_stop(appointment: Appointment, now: datetime) -> str:
    if appointment.status == AppointmentStatus.BOOKED:
        return "Reminders are sent once the appointment is confirmed."
    if appointment.status != AppointmentStatus.CONFIRMED:
        return ""
    if appointment.starts_at <= now:
        return ""
    return "No reminders: the patient has not agreed to texts."


def _sync_offset(
    appointment: Appointment,
    offset: timedelta,
    rows: list[ScheduledMessage],
    live: dict[int, ScheduledMessage],
    settings: "Settings",
    actor: str,
    now: datetime,
) -> tuple[ScheduledMessage | None, str]:
    seconds = int(offset.total_seconds())
    label = reminder_label(seconds)
    # NOTE: subtract in UTC. Aware arithmetic in a local zone is wall-clock
    # arithmetic, and "24 h before" across a DST change would be 23 or 25 h.
    starts_at = appointment.starts_at.astimezone(UTC)
    target = starts_at - offset
    row = live.get(seconds)

    if row is not None and row.status != MessageStatus.PENDING:
        # Being sent, failed or unknown: the daemon or staff decide those.
        return row, ""

    if _already_settled(rows, seconds, target):
        return None, ""

    if target <= now:
        ahead = describe_span(appointment.starts_at - now)
        if row is not None:
            _cancel(row, f"{label} skipped: {ahead} ahead.", "skipped", actor, now)
        return None, f"{label} skipped: booked {ahead} ahead"

    due_at: datetime | None = target
    quiet = settings.sending.quiet_hours
    if quiet is not None:
        due_at = place_reminder(
            target,
            appointment.starts_at,
            appointment.practice.zone,
            quiet,
            settings.reminders.min_lead,
            now,
        )
    if due_at is None:
        reason = (
            f"{label} skipped: quiet hours leave no time to send it "
            f"{describe_span(settings.reminders.min_lead)} before the appointment"
        )
        if row is not None:
            _cancel(row, reason + ".", "skipped", actor, now)
        return None, reason

    if row is None:
        return _create(appointment, seconds, target, due_at, actor, now), ""

    if row.due_at != due_at or row.scheduled_for != target:
        _move(row, target, due_at, actor, now)
    return row, ""


def _already_settled(
    rows: list[ScheduledMessage], seconds: int, target: datetime
) -> bool:
    """True when this reminder, for this very start time, already went out,
    expired, or was cancelled by a person: the rules must not bring it back."""
    for row in rows:
        if row.reminder_offset != seconds or row.scheduled_for != target:
            continue
        if row.status in (MessageStatus.SENT, MessageStatus.EXPIRED):
            return True
        if row.status == MessageStatus.CANCELLED and (
            row.last_error_code == CANCELLED_BY_STAFF
        ):
            return True
    return False


def _create(
    appointment: Appointment,
    seconds: int,
    target: datetime,
    due_at: datetime,
    actor: str,
    now: datetime,
) -> ScheduledMessage:
    row = ScheduledMessage.create(
        practice=appointment.practice,
        patient=appointment.patient_id,
        to_number=appointment.patient.phone,
        kind=MessageKind.REMINDER,
        appointment=appointment,
        reminder_offset=seconds,
        scheduled_for=target,
        due_at=due_at,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    record_event(
        appointment.practice,
        actor,
        "reminder.created",
        row,
        {"appointment": appointment.id, "due_at": due_at.isoformat()},
        now=now,
    )
    wakeups.notify(row.id, due_at)
    return row


def _move(
    row: ScheduledMessage,
    target: datetime,
    due_at: datetime,
    actor: str,
    now: datetime,
) -> None:
    previous = row.due_at
    row.scheduled_for = target
    row.due_at = due_at
    row.version += 1
    row.updated_at = now
    row.save()
    record_event(
        row.practice_id,
        actor,
        "reminder.moved",
        row,
        {"from": previous.isoformat(), "to": due_at.isoformat()},
        now=now,
    )
    wakeups.notify(row.id, due_at, previous)


def _cancel(
    row: ScheduledMessage, reason: str, code: str, actor: str, now: datetime
) -> None:
    if row.status not in (MessageStatus.PENDING, MessageStatus.FAILED):
        return

    previous = row.due_at
    row.status = MessageStatus.CANCELLED
    row.cancelled_at = now
    row.last_error_code = code
    row.last_error = reason
    row.updated_at = now
    row.save()
    record_event(row.practice_id, actor, "reminder.cancelled", row, reason, now=now)
    wakeups.notify(row.id, None, previous)


def render_reminder(appointment: Appointment, practice: Practice, template: str) -> str:
    """The reminder text for the appointment as it is now, in practice time.

    The template only has the patient's first name, the practice, the provider
    and the time: nothing clinical goes into a text.
    """
    local = appointment.starts_at.astimezone(practice.zone)
    if practice.region in TWELVE_HOUR_REGIONS:
        hour = local.hour % 12 or 12
        clock = f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    else:
        clock = f"{local:%H:%M}"

    return template.format_map(
        {
            "first_name": appointment.patient.first_name,
            "practice": practice.name,
            "provider": appointment.provider or practice.name,
            "date": f"{local:%A} {local.day} {local:%B}",
            "time": clock,
        }
    )
