"""A small, fixed practice day for the TUI tests, snapshots and demos.

The clock stands at Wednesday 9 December 2026, 09:00 in New York. The
appointments were booked three days earlier, through the store services, so
their reminders are real rows; the daemon's part (sending, failing) is played
by the lifecycle functions at the times it would have happened.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from store.appointments import book_appointment, set_appointment_status
from store.consent import grant_consent, revoke_consent
from store.deliveries import record_sent
from store.health import record_heartbeat
from store.lifecycle import claim_message, mark_failed, mark_unknown
from store.messages import schedule_message
from store.models import (
    AppointmentStatus,
    ConsentSource,
    MessageKind,
    MessageStatus,
    Practice,
    ScheduledMessage,
)
from store.patients import add_patient
from store.settings import Settings

NOW = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)  # 09:00 EST


@dataclass
class Seeded:
    """Ids of the rows tests act on."""

    maria: int
    james: int
    aisha: int
    tom: int
    eve: int
    maria_today: int  # confirmed 14:00 today: 24 h sent, 2 h pending
    maria_tomorrow: int  # confirmed 09:30 tomorrow: both pending
    failed_message: int
    unknown_message: int
    pending_message: int


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in December 2026, as UTC (EST is UTC-5)."""
    return datetime(2026, 12, day, hour + 5, minute, tzinfo=UTC)


def seed_practice(
    practice: Practice, settings: Settings, now: datetime = NOW
) -> Seeded:
    booked_at = now - timedelta(days=3)
    actor = "seed"

    def patient(first: str, last: str, phone: str) -> int:
        return add_patient(
            practice,
            first_name=first,
            last_name=last,
            phone=phone,
            actor=actor,
            now=booked_at,
        ).id

    maria = patient("Maria", "Lopez", "(212) 555-0134")
    james = patient("James", "Chen", "(646) 555-0178")
    aisha = patient("Aisha", "Khan", "(917) 555-0112")
    tom = patient("Tom", "Baker", "(718) 555-0190")
    eve = patient("Eve", "Martin", "(347) 555-0165")

    for person in (maria, james, eve, tom):
        grant_consent(
            practice,
            person,
            source=ConsentSource.WRITTEN_FORM,
            actor=actor,
            settings=settings,
            note="intake form",
            now=booked_at,
        )
    revoke_consent(
        practice,
        tom,
        source=ConsentSource.STOP_REPLY,
        actor="system",
        settings=settings,
        now=booked_at + timedelta(hours=1),
    )

    def book(person: int, starts_at: datetime, status: str, provider: str) -> int:
        return book_appointment(
            practice,
            patient_id=person,
            starts_at=starts_at,
            status=status,
            provider=provider,
            actor=actor,
            settings=settings,
            now=booked_at,
        ).id

    maria_today = book(maria, local(9, 14), "confirmed", "Dr Patel")
    book(james, local(9, 11), "booked", "Dr Patel")
    book(aisha, local(9, 15, 30), "confirmed", "Dr Osei")
    cancelled = book(eve, local(9, 16), "confirmed", "Dr Osei")
    set_appointment_status(
        practice,
        cancelled,
        AppointmentStatus.CANCELLED,
        actor=actor,
        settings=settings,
        now=booked_at + timedelta(hours=2),
    )
    maria_tomorrow = book(maria, local(10, 9, 30), "confirmed", "Dr Osei")

    # The daemon sent the 24 h reminder of today's visit yesterday at 14:00.
    reminder = ScheduledMessage.get(
        (ScheduledMessage.appointment == maria_today)
        & (ScheduledMessage.reminder_offset == 24 * 3600)
    )
    send(reminder.id, reminder.due_at, "Hi Maria, this is a reminder...")

    # Typed messages: one failed, one in doubt, one waiting for tomorrow.
    def typed(person: int, body: str, at: datetime) -> int:
        return schedule_message(
            practice,
            patient_id=person,
            body=body,
            at=at,
            actor=actor,
            settings=settings,
            now=at - timedelta(minutes=5),
        ).id

    failed_message = typed(james, "Your crown is ready to fit.", local(8, 10))
    claimed = claim_message(failed_message, now=local(8, 10))
    mark_failed(
        claimed,
        "30003",
        "The handset is unreachable (30003).",
        now=local(8, 10, 1),
    )
    unknown_message = typed(eve, "Please bring your insurance card.", local(8, 12))
    claimed = claim_message(unknown_message, now=local(8, 12))
    mark_unknown(claimed, "The carrier did not answer in time.", now=local(8, 12, 5))
    pending_message = typed(
        eve, "See you tomorrow, Eve. Parking is at the back.", local(10, 10)
    )

    history(practice, maria, now)
    record_heartbeat(
        practice, version="0.1.0", gateway="outbox", now=now - timedelta(seconds=40)
    )

    return Seeded(
        maria,
        james,
        aisha,
        tom,
        eve,
        maria_today,
        maria_tomorrow,
        failed_message,
        unknown_message,
        pending_message,
    )


def send(message_id: int, at: datetime, body: str) -> None:
    claimed = claim_message(message_id, now=at)
    assert claimed is not None, f"message {message_id} could not be claimed"
    record_sent(
        claimed,
        body=body,
        provider_sid=f"SM{message_id:032d}",
        segments=1,
        encoding="GSM-7",
        gateway="outbox",
        consent=None,
        now=at + timedelta(seconds=2),
    )


def history(practice: Practice, patient: int, now: datetime) -> None:
    """A fortnight of sent and failed texts for the chart, as settled rows."""
    rows = []
    for days_ago in range(1, 14):
        day_noon = now.replace(hour=17) - timedelta(days=days_ago)
        sent = (days_ago * 7) % 11 + 2
        failed = 1 if days_ago in (3, 8) else 0
        for n in range(sent + failed):
            at = day_noon + timedelta(minutes=n)
            status = MessageStatus.SENT if n < sent else MessageStatus.FAILED
            rows.append(
                {
                    "practice": practice.id,
                    "patient": patient,
                    "to_number": "+12125550134",
                    "body": "Old reminder",
                    "kind": MessageKind.MANUAL,
                    "status": status,
                    "scheduled_for": at,
                    "due_at": at,
                    "attempts": 1,
                    "sent_at": at if status == MessageStatus.SENT else None,
                    "failed_at": at if status == MessageStatus.FAILED else None,
                    "created_by": "seed",
                    "created_at": at,
                    "updated_at": at,
                }
            )
    ScheduledMessage.insert_many(rows).execute()
