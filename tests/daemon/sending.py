"""Shared pieces of the send-pipeline tests: a clock to pass time in, and
patients, texts and visits made through the store's services."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from store.appointments import book_appointment
from store.consent import grant_consent
from store.messages import schedule_message
from store.models import ConsentSource, ScheduledMessage
from store.patients import add_patient

NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 9 December 2026, 10:00 in New York: outside quiet hours.
MORNING = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def person(practice, settings, phone="(212) 555-0134", consent=True, name="Maria"):
    patient = add_patient(
        practice,
        first_name=name,
        last_name="Lopez",
        phone=phone,
        actor="desk",
        now=MORNING - timedelta(days=30),
    )
    if consent:
        grant_consent(
            practice,
            patient.id,
            source=ConsentSource.WRITTEN_FORM,
            actor="desk",
            settings=settings,
            now=MORNING - timedelta(days=30),
        )
    return patient


def text(practice, settings, patient, at=MORNING, body="Your crown is ready."):
    return schedule_message(
        practice,
        patient_id=patient.id,
        body=body,
        at=at,
        actor="desk",
        settings=settings,
        now=at - timedelta(hours=1),
    )


def status_of(message):
    return ScheduledMessage.get_by_id(message.id)


def confirmed_visit(  # type: ignore[no-untyped-def]
    practice, settings, patient, starts_at
):
    """A confirmed appointment booked this morning, with its reminders."""
    return book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=starts_at,
        status="confirmed",
        actor="desk",
        settings=settings,
        now=MORNING,
    )
