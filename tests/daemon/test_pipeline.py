"""The send pipeline against the real twilio client and a fake Twilio server.

Time is passed in through the sender's clock; the store is a real SQLite file.
"""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.gateways import build_gateway
from daemon.pipeline import Outcome, Sender
from daemon.sweep import sweep
from store.appointments import book_appointment, reminders_for, reschedule_appointment
from store.consent import current_consent, grant_consent, latest_consent, revoke_consent
from store.health import read_health
from store.home import resolve_home
from store.lifecycle import claim_message
from store.messages import schedule_message
from store.models import (
    Appointment,
    ConsentSource,
    MessageStatus,
    ScheduledMessage,
    SentMessage,
)
from store.patients import add_patient

NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 9 December 2026, 10:00 in New York: outside quiet hours.
MORNING = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MORNING)


@pytest.fixture
def sender(twilio_settings, home_dir, clock, db, fake_twilio):  # type: ignore[no-untyped-def]
    fake_twilio.clock = clock
    gateway = build_gateway(twilio_settings, resolve_home(home_dir))
    yield Sender(twilio_settings, gateway, clock=clock)
    gateway.close()


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


def test_a_due_message_goes_out_once_and_is_marked_sent(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)

    assert sender.send_message(message.id) is Outcome.SENT
    assert sender.send_message(message.id) is Outcome.NOT_CLAIMED

    assert len(fake_twilio.messages) == 1
    sent = fake_twilio.messages[0]
    assert (sent.to, sent.body) == ("+12125550134", "Your crown is ready.")
    stored = status_of(message)
    assert stored.status == MessageStatus.SENT
    assert stored.provider_sid == sent.sid
    assert stored.segments == 1
    assert stored.sent_at == MORNING
    record = SentMessage.get_by_id(stored.sent_message_id)
    assert record.provider_sid == sent.sid
    assert record.consent_id == current_consent(patient).id


def test_a_message_not_yet_due_is_left_alone(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient, at=MORNING + timedelta(hours=1))

    assert sender.send_message(message.id) is Outcome.NOT_CLAIMED
    assert status_of(message).status == MessageStatus.PENDING
    assert fake_twilio.messages == []


def test_consent_revoked_between_schedule_and_send_stops_the_text(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    # Revoked behind the service's back, as a second desk might race it.
    from store.models import ConsentRecord

    ConsentRecord.create(
        practice=practice,
        patient=patient,
        granted=False,
        source="stop_reply",
        recorded_by="desk",
        recorded_at=MORNING - timedelta(minutes=1),
    )

    assert sender.send_message(message.id) is Outcome.CANCELLED

    stored = status_of(message)
    assert stored.status == MessageStatus.CANCELLED
    assert "consent" in stored.last_error
    assert fake_twilio.messages == []


def test_a_message_hours_late_expires_instead_of_going_out(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient, at=MORNING)
    clock.now = MORNING + timedelta(hours=6, minutes=1)

    assert sender.send_message(message.id) is Outcome.EXPIRED

    stored = status_of(message)
    assert stored.status == MessageStatus.EXPIRED
    assert "6 h 1 min late" in stored.last_error
    assert fake_twilio.messages == []


def test_a_reminder_whose_appointment_started_expires(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    starts = MORNING + timedelta(hours=3)
    appointment = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=starts,
        status="confirmed",
        actor="desk",
        settings=twilio_settings,
        now=MORNING,
    )
    reminder = [r for r in reminders_for(appointment)][0]
    clock.now = starts + timedelta(minutes=1)

    assert sender.send_message(reminder.id) is Outcome.EXPIRED
    assert "already started" in status_of(reminder).last_error
    assert fake_twilio.messages == []


def test_a_reminder_is_rendered_at_send_time_from_the_moved_appointment(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    first = MORNING + timedelta(days=2)
    appointment = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=first,
        status="confirmed",
        provider="Dr. Chen",
        actor="desk",
        settings=twilio_settings,
        now=MORNING,
    )
    stale = {r.reminder_offset: r for r in reminders_for(appointment)}[24 * 3600]
    old_due = stale.due_at
    moved = first + timedelta(hours=3)  # Friday 13:00 in New York
    reschedule_appointment(
        practice,
        appointment.id,
        moved,
        actor="desk",
        settings=twilio_settings,
        now=MORNING,
    )

    clock.now = old_due
    assert sender.send_message(stale.id) is Outcome.NOT_CLAIMED
    clock.now = moved - timedelta(hours=24)
    assert sender.send_message(stale.id) is Outcome.SENT

    [sent] = fake_twilio.messages
    assert "1:00 PM" in sent.body
    assert "10:00" not in sent.body
    assert "Friday 11 December" in sent.body


def test_a_cancelled_appointment_never_gets_its_reminder(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    appointment = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=MORNING + timedelta(days=2),
        status="confirmed",
        actor="desk",
        settings=twilio_settings,
        now=MORNING,
    )
    reminders = reminders_for(appointment)
    # Cancelled past the services, as a direct edit might: send time must see it.
    Appointment.update(status="cancelled").where(
        Appointment.id == appointment.id
    ).execute()
    clock.now = MORNING + timedelta(days=2) - timedelta(hours=2)

    outcomes = {sender.send_message(r.id) for r in reminders}

    assert Outcome.SENT not in outcomes
    assert fake_twilio.messages == []


def test_a_manual_message_inside_quiet_hours_waits_for_the_morning(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    # Written past the service: due at 22:30 in New York.
    late = datetime(2026, 12, 9, 22, 30, tzinfo=NEW_YORK)
    message = text(practice, twilio_settings, patient, at=MORNING)
    ScheduledMessage.update(scheduled_for=late, due_at=late).where(
        ScheduledMessage.id == message.id
    ).execute()
    clock.now = late

    assert sender.send_message(message.id) is Outcome.DEFERRED

    stored = status_of(message)
    assert stored.status == MessageStatus.PENDING
    assert stored.due_at == datetime(2026, 12, 10, 8, 0, tzinfo=NEW_YORK)
    assert stored.attempts == 0
    assert fake_twilio.messages == []
    clock.now = stored.due_at
    assert sender.send_message(message.id) is Outcome.SENT


def test_an_overnight_backlog_is_not_sent_at_night(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    early_visit = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=datetime(2026, 12, 10, 8, 30, tzinfo=NEW_YORK),
        status="confirmed",
        actor="desk",
        settings=twilio_settings,
        now=MORNING,
    )
    late_visit = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=datetime(2026, 12, 10, 11, 0, tzinfo=NEW_YORK),
        status="confirmed",
        actor="desk",
        settings=twilio_settings,
        now=MORNING,
    )
    # A row written by another tool, due at 22:30 with no quiet-hours placing.
    manual = text(practice, twilio_settings, patient, at=MORNING + timedelta(hours=4))
    evening = datetime(2026, 12, 9, 22, 30, tzinfo=NEW_YORK)
    ScheduledMessage.update(scheduled_for=evening, due_at=evening).where(
        ScheduledMessage.id == manual.id
    ).execute()
    # The daemon was down from the afternoon until 02:00: a backlog is due.
    clock.now = datetime(2026, 12, 10, 2, 0, tzinfo=NEW_YORK)

    summary = sweep(sender, version="test")

    assert fake_twilio.messages == []
    assert summary.outcomes["sent"] == 0
    assert summary.outcomes["deferred"] == 1
    manual_row = status_of(manual)
    assert manual_row.status == MessageStatus.PENDING
    assert manual_row.due_at == datetime(2026, 12, 10, 8, 0, tzinfo=NEW_YORK)
    early = {r.reminder_offset: r for r in reminders_for(early_visit)}
    late = {r.reminder_offset: r for r in reminders_for(late_visit)}
    # 08:00 leaves half an hour before 08:30, under the 1 h lead: expired.
    assert early[2 * 3600].status == MessageStatus.EXPIRED
    assert "quiet hours" in early[2 * 3600].last_error
    # The day-before reminder is 15 hours late by now.
    assert late[24 * 3600].status == MessageStatus.EXPIRED
    assert late[2 * 3600].status == MessageStatus.PENDING
    assert late[2 * 3600].due_at == datetime(2026, 12, 10, 9, 0, tzinfo=NEW_YORK)


def test_quiet_hours_hold_on_the_day_the_clocks_go_back(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient, at=MORNING)
    # 01:30 EDT on Sunday 1 November 2026, an hour before the clocks go back.
    night = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    ScheduledMessage.update(scheduled_for=night, due_at=night).where(
        ScheduledMessage.id == message.id
    ).execute()
    clock.now = night

    assert sender.send_message(message.id) is Outcome.DEFERRED

    due = status_of(message).due_at
    # 08:00 EST is 13:00 UTC: the window ends on the wall clock, not 12:00 UTC.
    assert due == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_429_goes_back_to_pending_with_backoff_and_fails_after_max_attempts(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script(*["429"] * 5)
    waits = []

    for attempt in range(1, 6):
        outcome = sender.send_message(message.id)
        stored = status_of(message)
        assert stored.attempts == attempt
        if attempt < 5:
            assert outcome is Outcome.RETRYING
            assert stored.status == MessageStatus.PENDING
            waits.append(stored.due_at - clock.now)
            clock.now = stored.due_at

    assert outcome is Outcome.FAILED
    assert stored.status == MessageStatus.FAILED
    assert "Gave up after 5 attempts" in stored.last_error
    assert timedelta(seconds=30) <= waits[0] <= timedelta(seconds=36)
    assert timedelta(seconds=60) <= waits[1] <= timedelta(seconds=72)
    assert timedelta(seconds=240) <= waits[3] <= timedelta(seconds=288)
    assert fake_twilio.messages == []


@pytest.mark.parametrize(
    ("number", "code", "words"),
    [
        ("+15005550001", "21211", "number"),
        ("+15005550009", "21614", "mobile"),
        ("+15005550003", "21408", ""),
        ("+15005550002", "21612", ""),
    ],
)
def test_permanent_errors_fail_at_once_with_a_sentence_for_staff(
    practice, twilio_settings, sender, fake_twilio, number, code, words
):
    patient = person(practice, twilio_settings, phone=number)
    message = text(practice, twilio_settings, patient)

    assert sender.send_message(message.id) is Outcome.FAILED

    stored = status_of(message)
    assert stored.status == MessageStatus.FAILED
    assert stored.attempts == 1
    assert stored.last_error_code == code
    assert words.lower() in stored.last_error.lower()
    assert "+1500" not in stored.last_error


def test_an_unsubscribed_recipient_revokes_consent_and_cancels_the_rest(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings, phone="+15005550004")
    first = text(practice, twilio_settings, patient)
    later = text(practice, twilio_settings, patient, at=MORNING + timedelta(days=1))

    assert sender.send_message(first.id) is Outcome.FAILED

    assert status_of(first).last_error_code == "21610"
    assert status_of(later).status == MessageStatus.CANCELLED
    record = latest_consent(patient)
    assert record.granted is False
    assert record.source == ConsentSource.CARRIER_OPT_OUT


def test_bad_credentials_pause_sending_and_keep_the_row_pending(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    first = text(practice, twilio_settings, patient)
    second = text(practice, twilio_settings, patient)
    fake_twilio.script("auth")

    assert sender.send_message(first.id) is Outcome.PAUSED
    assert sender.send_message(second.id) is Outcome.PAUSED

    # Staff and monitoring see the problem at once, not at the next sweep.
    assert "20003" in read_health(practice).error
    assert len(fake_twilio.requests) == 1
    for message in (first, second):
        assert status_of(message).status == MessageStatus.PENDING
        assert status_of(message).attempts == 0

    clock.now = MORNING + timedelta(minutes=2)
    summary = sweep(sender, version="test")
    assert summary.outcomes["sent"] == 2
    assert read_health(practice).error == ""


def test_a_sweep_that_meets_refused_credentials_defers_the_rest_of_its_batch(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    for _ in range(3):
        text(practice, twilio_settings, patient)
    fake_twilio.script("auth")

    summary = sweep(sender, version="test")

    assert summary.outcomes["paused"] == 3
    assert len(fake_twilio.requests) == 1
    assert "credentials" in read_health(practice).error.lower()


def test_a_dropped_connection_after_acceptance_is_reconciled_not_resent(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script("drop_after_accept")

    assert sender.send_message(message.id) is Outcome.IN_DOUBT
    assert status_of(message).status == MessageStatus.SENDING

    clock.now = MORNING + timedelta(minutes=3)
    summary = sweep(sender, version="test")

    assert summary.reconciled == 1
    stored = status_of(message)
    assert stored.status == MessageStatus.SENT
    assert stored.provider_sid == fake_twilio.messages[0].sid
    assert len(fake_twilio.messages) == 1


def test_a_500_that_was_not_accepted_is_reconciled_then_sent_once(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script("500")

    assert sender.send_message(message.id) is Outcome.IN_DOUBT
    clock.now = MORNING + timedelta(minutes=3)
    sweep(sender, version="test")
    assert status_of(message).status == MessageStatus.PENDING

    clock.now = status_of(message).due_at
    sweep(sender, version="test")

    assert status_of(message).status == MessageStatus.SENT
    assert len(fake_twilio.messages) == 1


def test_no_answer_for_long_enough_makes_the_outcome_unknown_for_staff(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script("drop_before_accept")
    sender.send_message(message.id)
    fake_twilio.list_fails = 100

    clock.now = MORNING + timedelta(minutes=5)
    sweep(sender, version="test")
    assert status_of(message).status == MessageStatus.SENDING

    clock.now = MORNING + timedelta(minutes=30)
    summary = sweep(sender, version="test")

    stored = status_of(message)
    assert summary.outcomes["unknown"] == 1
    assert stored.status == MessageStatus.UNKNOWN
    assert "retry or cancel" in stored.last_error
    assert fake_twilio.messages == []


def test_racing_claimers_send_a_message_exactly_once(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    messages = [text(practice, twilio_settings, patient) for _ in range(20)]
    outcomes: list[Outcome] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        for message in messages:
            outcomes.append(sender.send_message(message.id))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(Outcome.SENT) == 20
    assert len(fake_twilio.messages) == 20
    assert len({m.body for m in fake_twilio.messages}) == 1


def test_the_sweep_sends_every_due_message_across_practices(
    practice, other_practice, twilio_settings, sender, fake_twilio
):
    ours = person(practice, twilio_settings)
    theirs = person(
        other_practice, twilio_settings, phone="+44 7400 123456", name="Ben"
    )
    for _ in range(3):
        text(practice, twilio_settings, ours)
    text(other_practice, twilio_settings, theirs, body="Hello from London")
    text(practice, twilio_settings, ours, at=MORNING + timedelta(hours=2))

    summary = sweep(sender, version="test")

    assert summary.outcomes["sent"] == 4
    assert len(fake_twilio.messages) == 4
    assert read_health(practice).last_sweep_at == MORNING
    assert read_health(other_practice).gateway == "twilio"


def test_claim_is_refused_once_the_row_left_pending(practice, twilio_settings):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)

    assert claim_message(message.id, MORNING) is not None
    assert claim_message(message.id, MORNING) is None


def test_consent_granted_after_a_revocation_allows_new_messages(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    revoke_consent(
        practice,
        patient.id,
        source="stop_reply",
        actor="desk",
        settings=twilio_settings,
        now=MORNING - timedelta(hours=2),
    )
    grant_consent(
        practice,
        patient.id,
        source="written_form",
        actor="desk",
        settings=twilio_settings,
        now=MORNING - timedelta(hours=1, minutes=30),
    )
    message = text(practice, twilio_settings, patient)

    assert sender.send_message(message.id) is Outcome.SENT
    record = SentMessage.get()
    assert record.consent_id == current_consent(patient).id


def test_quiet_hours_can_be_switched_off(
    practice, twilio_settings, fake_twilio, home_dir, clock
):
    settings = replace(
        twilio_settings, sending=replace(twilio_settings.sending, quiet_hours=None)
    )
    gateway = build_gateway(settings, resolve_home(home_dir))
    night_sender = Sender(settings, gateway, clock=clock)
    patient = person(practice, settings)
    night = datetime(2026, 12, 10, 2, 0, tzinfo=NEW_YORK)
    message = text(practice, settings, patient, at=night)
    clock.now = night

    assert night_sender.send_message(message.id) is Outcome.SENT
