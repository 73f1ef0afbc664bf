"""The send pipeline against the real twilio client and a fake Twilio server.

Time is passed in through the sender's clock; the store is a real SQLite file.
"""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from daemon.gateways import build_gateway
from daemon.pipeline import Outcome, Sender
from daemon.sweep import sweep
from store.appointments import (
    book_appointment,
    reminders_for,
    reschedule_appointment,
)
from store.consent import current_consent, grant_consent, revoke_consent
from store.health import read_health
from store.home import resolve_home
from store.lifecycle import claim_message
from store.models import (
    Appointment,
    MessageStatus,
    ScheduledMessage,
    SentMessage,
)
from tests.daemon.sending import (
    MORNING,
    NEW_YORK,
    confirmed_visit,
    person,
    status_of,
    text,
)


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
    appointment = confirmed_visit(practice, twilio_settings, patient, starts)
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
    appointment = confirmed_visit(
        practice, twilio_settings, patient, MORNING + timedelta(days=2)
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
    early_visit = confirmed_visit(
        practice,
        twilio_settings,
        patient,
        datetime(2026, 12, 10, 8, 30, tzinfo=NEW_YORK),
    )
    late_visit = confirmed_visit(
        practice,
        twilio_settings,
        patient,
        datetime(2026, 12, 10, 11, 0, tzinfo=NEW_YORK),
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
