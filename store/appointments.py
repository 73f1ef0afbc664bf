"""Appointments: booking, editing, rescheduling, and changing their status.

Every change re-syncs the appointment's reminders in the same transaction.
"""

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from store.audit import record_event
from store.db import database
from store.errors import InvalidInput, NotFound
from store.models import (
    Appointment,
    AppointmentStatus,
    MessageKind,
    Practice,
    ScheduledMessage,
    utcnow,
)
from store.patients import get_patient
from store.reminders import sync_reminders

if TYPE_CHECKING:
    from store.settings import Settings

log = logging.getLogger(__name__)

MAX_DURATION_MINUTES = 24 * 60
PAST_GRACE = timedelta(minutes=5)

# The spellings practice-management exports use for each status.
STATUS_WORDS = {
    AppointmentStatus.BOOKED: (
        "booked",
        "scheduled",
        "unconfirmed",
        "pending",
        "new",
        "tentative",
    ),
    AppointmentStatus.CONFIRMED: ("confirmed", "confirm", "conf", "c"),
    AppointmentStatus.CANCELLED: (
        "cancelled",
        "canceled",
        "cancel",
        "cxl",
        "cancelled by patient",
        "canceled by patient",
        "cancelled by practice",
        "canceled by practice",
        "deleted",
    ),
    AppointmentStatus.COMPLETED: (
        "completed",
        "complete",
        "done",
        "checked out",
        "checked-out",
        "attended",
        "seen",
    ),
    AppointmentStatus.NO_SHOW: (
        "no_show",
        "no show",
        "no-show",
        "noshow",
        "dna",
        "did not attend",
        "missed",
        "failed",
    ),
}
_STATUS_LOOKUP = {
    " ".join(word.replace("_", " ").split()): status
    for status, words in STATUS_WORDS.items()
    for word in words
}


def parse_status(text: str) -> AppointmentStatus:
    """Read a status word in any case and common spelling; raise InvalidInput."""
    key = " ".join(str(text).strip().lower().replace("_", " ").split())
    status = _STATUS_LOOKUP.get(key)
    if status is None:
        allowed = ", ".join(s.value for s in AppointmentStatus)
        raise InvalidInput(
            f"'{text}' is not an appointment status; use one of {allowed}.",
            field="status",
        )
    return status


def book_appointment(
    practice: Practice,
    *,
    patient_id: int,
    starts_at: datetime,
    actor: str,
    settings: "Settings",
    duration_minutes: int = 30,
    provider: str = "",
    status: AppointmentStatus | str = AppointmentStatus.BOOKED,
    external_id: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book an appointment and give it the reminders its status calls for.

    Raises InvalidInput for a start in the past (for a booked or confirmed
    visit), a bad duration or status; NotFound for an unknown patient.
    """
    now = now or utcnow()
    status = parse_status(status)
    _check_start(starts_at, status, now)
    _check_duration(duration_minutes)
    starts_at = starts_at.astimezone(UTC)

    with database.atomic():
        patient = get_patient(practice, patient_id)
        appointment = Appointment.create(
            practice=practice,
            patient=patient,
            provider=_clean_provider(provider),
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            status=status,
            external_id=external_id or None,
            created_at=now,
            updated_at=now,
        )
        appointment.practice = practice
        record_event(
            practice,
            actor,
            "appointment.booked",
            appointment,
            {"starts_at": starts_at.isoformat(), "status": str(status)},
            now=now,
        )
        sync_reminders(appointment, settings, actor=actor, now=now)

    log.info("Appointment %s booked (%s)", appointment.id, status)
    return appointment


def update_appointment(
    practice: Practice,
    appointment_id: int,
    *,
    actor: str,
    settings: "Settings",
    starts_at: datetime | None = None,
    duration_minutes: int | None = None,
    provider: str | None = None,
    status: AppointmentStatus | str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Change an appointment; moving it moves its pending reminders, and any
    status other than confirmed cancels them."""
    now = now or utcnow()
    with database.atomic():
        appointment = get_appointment(practice, appointment_id)
        appointment.practice = practice
        changes: dict[str, str] = {}

        new_status = parse_status(appointment.status if status is None else status)
        if new_status != appointment.status:
            changes["status"] = f"{appointment.status} -> {new_status}"
            appointment.status = new_status

        if starts_at is not None and starts_at != appointment.starts_at:
            _check_start(starts_at, new_status, now)
            starts_at = starts_at.astimezone(UTC)
            changes["starts_at"] = (
                f"{appointment.starts_at.isoformat()} -> {starts_at.isoformat()}"
            )
            appointment.starts_at = starts_at

        if duration_minutes is not None and duration_minutes != (
            appointment.duration_minutes
        ):
            _check_duration(duration_minutes)
            changes["duration_minutes"] = str(duration_minutes)
            appointment.duration_minutes = duration_minutes

        if provider is not None and _clean_provider(provider) != appointment.provider:
            appointment.provider = _clean_provider(provider)
            changes["provider"] = appointment.provider

        if changes:
            appointment.updated_at = now
            appointment.save()
            record_event(
                practice, actor, "appointment.updated", appointment, changes, now=now
            )
        sync_reminders(appointment, settings, actor=actor, now=now)

    if changes:
        log.info("Appointment %s updated: %s", appointment.id, ", ".join(changes))
    return appointment


def reschedule_appointment(
    practice: Practice,
    appointment_id: int,
    starts_at: datetime,
    *,
    actor: str,
    settings: "Settings",
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment to a new start; its pending reminders move with it."""
    return update_appointment(
        practice,
        appointment_id,
        actor=actor,
        settings=settings,
        starts_at=starts_at,
        now=now,
    )


def set_appointment_status(
    practice: Practice,
    appointment_id: int,
    status: AppointmentStatus | str,
    *,
    actor: str,
    settings: "Settings",
    now: datetime | None = None,
) -> Appointment:
    """Confirm, cancel, complete or mark a no-show; reminders follow."""
    return update_appointment(
        practice,
        appointment_id,
        actor=actor,
        settings=settings,
        status=status,
        now=now,
    )


def get_appointment(practice: Practice | int, appointment_id: int) -> Appointment:
    """The appointment with this id in this practice; raises NotFound otherwise."""
    appointment = (
        Appointment.for_tenant(practice).where(Appointment.id == appointment_id).first()
    )
    if appointment is None:
        raise NotFound(f"There is no appointment {appointment_id} in this practice.")
    return appointment


def find_appointment_by_external_id(
    practice: Practice, external_id: str
) -> Appointment | None:
    return (
        Appointment.for_tenant(practice)
        .where(Appointment.external_id == external_id)
        .first()
    )


def appointments_between(
    practice: Practice | int,
    start: datetime,
    end: datetime,
    *,
    limit: int = 500,
    offset: int = 0,
) -> list[Appointment]:
    """Appointments starting in [start, end), soonest first, with patients."""
    from store.models import Patient

    return list(
        Appointment.for_tenant(practice)
        .select(Appointment, Patient)
        .join(Patient)
        .where((Appointment.starts_at >= start) & (Appointment.starts_at < end))
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit)
        .offset(offset)
    )


def day_bounds(practice: Practice, day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the practice's local day starts and ends.

    A DST day is 23 or 25 hours long; the bounds are the local midnights.
    """
    zone = practice.zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def appointments_on(practice: Practice, day: date) -> list[Appointment]:
    """The appointments of one practice-local day."""
    start, end = day_bounds(practice, day)
    return appointments_between(practice, start, end)


def reminders_for(appointment: Appointment) -> list[ScheduledMessage]:
    """Every reminder row of the appointment, oldest first, live or not."""
    return list(
        ScheduledMessage.for_tenant(appointment.practice_id)
        .where(
            (ScheduledMessage.appointment == appointment)
            & (ScheduledMessage.kind == MessageKind.REMINDER)
        )
        .order_by(ScheduledMessage.id)
    )


def _check_start(starts_at: datetime, status: AppointmentStatus, now: datetime) -> None:
    if starts_at.tzinfo is None:
        raise InvalidInput("The start time needs a time zone.", field="starts_at")
    upcoming = status in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
    if upcoming and starts_at < now - PAST_GRACE:
        raise InvalidInput(
            "That start time is in the past; a booked or confirmed appointment "
            "must be ahead.",
            field="starts_at",
        )


def _clean_provider(provider: str) -> str:
    # The provider's name goes into reminder texts, so it must be something a
    # phone can show.
    name = " ".join(provider.split())
    if len(name) > 100:
        raise InvalidInput(
            "The provider's name is over 100 characters.", field="provider"
        )
    if not name.isprintable():
        raise InvalidInput(
            "The provider's name holds control characters.", field="provider"
        )
    return name


def _check_duration(minutes: int) -> None:
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidInput(
            f"The duration must be 1 to {MAX_DURATION_MINUTES} minutes, got "
            f"{minutes!r}.",
            field="duration_minutes",
        )
