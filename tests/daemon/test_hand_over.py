"""A slice of texts handed over slowly: what changes between the slice's
checks and each text's hand-over (consent, the visit, the clock) is seen at
the hand-over, against the real twilio client and a fake Twilio server."""

from datetime import datetime, timedelta

from daemon.sweep import sweep
from store.appointments import reminders_for, set_appointment_status, update_appointment
from store.consent import revoke_consent
from store.models import Appointment, ScheduledMessage
from tests.daemon.sending import (
    MORNING,
    NEW_YORK,
    confirmed_visit,
    person,
    status_of,
    text,
)


def visits_at(practice, settings, starts, count):  # type: ignore[no-untyped-def]
    """``count`` confirmed visits of different patients, all starting at
    ``starts``, and their pending reminders in visit order."""
    visits, reminders = [], []
    for n in range(count):
        patient = person(practice, settings, phone=f"(212) 555-01{n:02d}")
        visit = confirmed_visit(practice, settings, patient, starts)
        visits.append(visit)
        reminders += [r for r in reminders_for(visit) if r.status == "pending"]
    return visits, reminders


def slow_provider(sender, clock, minutes: int) -> None:
    """Every answer from the provider takes ``minutes`` of the test's clock."""
    send = sender.gateway.send

    def send_slowly(outgoing):  # type: ignore[no-untyped-def]
        accepted = send(outgoing)
        clock.now += timedelta(minutes=minutes)
        return accepted

    sender.gateway.send = send_slowly


def test_quiet_hours_beginning_mid_slice_hold_back_the_rest_of_it(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    evening = datetime(2026, 12, 9, 20, 30, tzinfo=NEW_YORK)
    messages = [text(practice, twilio_settings, patient, at=MORNING) for _ in range(6)]
    ScheduledMessage.update(scheduled_for=evening, due_at=evening).execute()
    clock.now = evening + timedelta(minutes=5)
    slow_provider(sender, clock, minutes=10)

    summary = sweep(sender, version="test")

    # Handed over at 20:35, 20:45 and 20:55; quiet hours begin at 21:00.
    assert summary.outcomes["sent"] == 3
    assert summary.outcomes["deferred"] == 3
    assert len(fake_twilio.messages) == 3
    held = [status_of(m) for m in messages if status_of(m).status != "sent"]
    assert {m.due_at for m in held} == {datetime(2026, 12, 10, 8, 0, tzinfo=NEW_YORK)}


def test_an_appointment_starting_mid_slice_stops_the_rest_of_its_reminders(
    practice, twilio_settings, sender, fake_twilio, clock
):
    starts = MORNING + timedelta(hours=3)
    _, reminders = visits_at(practice, twilio_settings, starts, 5)
    clock.now = starts - timedelta(minutes=25)
    slow_provider(sender, clock, minutes=10)

    sweep(sender, version="test")

    # Handed over 25, 15 and 5 minutes before the start; then it has begun.
    statuses = sorted(status_of(r).status for r in reminders)
    assert statuses == ["expired", "expired", "sent", "sent", "sent"]
    assert len(fake_twilio.messages) == 3


def slow_visits(  # type: ignore[no-untyped-def]
    practice, settings, sender, clock, count
):
    """``count`` visits starting in 30 minutes, with their reminders due, and
    a provider taking 2 minutes a text."""
    starts = MORNING + timedelta(hours=3)
    clock.now = starts - timedelta(minutes=30)
    slow_provider(sender, clock, minutes=2)
    return visits_at(practice, settings, starts, count)


def after_first_send(sender, action) -> None:  # type: ignore[no-untyped-def]
    """Run ``action`` once the provider has accepted the slice's first text,
    as a desk would while the rest of it is still going out."""
    send = sender.gateway.send
    sent = []

    def send_then_act(outgoing):  # type: ignore[no-untyped-def]
        accepted = send(outgoing)
        if not sent:
            action()
        sent.append(outgoing)
        return accepted

    sender.gateway.send = send_then_act


def test_consent_withdrawn_mid_slice_stops_that_patients_text(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patients = [
        person(practice, twilio_settings, phone=f"(212) 555-01{n:02d}")
        for n in range(4)
    ]
    messages = [text(practice, twilio_settings, p) for p in patients]
    slow_provider(sender, clock, minutes=2)
    after_first_send(
        sender,
        lambda: revoke_consent(
            practice,
            patients[2].id,
            source="stop_reply",
            actor="desk",
            settings=twilio_settings,
            now=clock.now,
        ),
    )

    sweep(sender, version="test")

    statuses = [status_of(m).status for m in messages]
    assert statuses == ["sent", "sent", "cancelled", "sent"]
    assert "no SMS consent" in status_of(messages[2]).last_error
    assert sorted(m.to for m in fake_twilio.messages) == [
        "+12125550100",
        "+12125550101",
        "+12125550103",
    ]


def test_a_visit_cancelled_mid_slice_gets_no_reminder(
    practice, twilio_settings, sender, fake_twilio, clock
):
    visits, reminders = slow_visits(practice, twilio_settings, sender, clock, 3)
    after_first_send(
        sender,
        lambda: set_appointment_status(
            practice,
            visits[1].id,
            "cancelled",
            actor="desk",
            settings=twilio_settings,
            now=clock.now,
        ),
    )

    sweep(sender, version="test")

    assert [status_of(r).status for r in reminders] == ["sent", "cancelled", "sent"]
    assert "cancelled" in status_of(reminders[1]).last_error
    assert len(fake_twilio.messages) == 2


def test_a_visit_changed_mid_slice_has_its_reminder_written_again(
    practice, twilio_settings, sender, fake_twilio, clock
):
    visits, reminders = slow_visits(practice, twilio_settings, sender, clock, 3)
    after_first_send(
        sender,
        lambda: update_appointment(
            practice,
            visits[1].id,
            provider="Dr Baker",
            actor="desk",
            settings=twilio_settings,
            now=clock.now,
        ),
    )

    sweep(sender, version="test")

    # Put back, with no text of the old wording left on the row.
    held = status_of(reminders[1])
    assert (held.status, held.body) == ("pending", "")
    assert [status_of(r).status for r in (reminders[0], reminders[2])] == [
        "sent",
        "sent",
    ]
    assert len(fake_twilio.messages) == 2

    clock.now = held.due_at
    sweep(sender, version="test")

    assert status_of(reminders[1]).status == "sent"
    assert "Dr Baker" in fake_twilio.messages[-1].body


def test_a_visit_moved_mid_slice_behind_the_stores_back_is_put_back_blank(
    practice, twilio_settings, sender, fake_twilio, clock
):
    visits, reminders = slow_visits(practice, twilio_settings, sender, clock, 2)
    # Another tool writes the new start straight into the table.
    after_first_send(
        sender,
        lambda: (
            Appointment.update(starts_at=visits[1].starts_at + timedelta(hours=2))
            .where(Appointment.id == visits[1].id)
            .execute()
        ),
    )

    sweep(sender, version="test")

    moved = [r for r in reminders_for(visits[1]) if r.status == "pending"]
    assert moved and all(r.body == "" for r in moved)
    assert status_of(reminders[0]).status == "sent"
    assert len(fake_twilio.messages) == 1


def test_a_clock_stepped_back_mid_slice_still_rechecks_consent(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patients = [
        person(practice, twilio_settings, phone=f"(212) 555-01{n:02d}")
        for n in range(3)
    ]
    messages = [text(practice, twilio_settings, p) for p in patients]

    def withdraw_and_step_back() -> None:
        revoke_consent(
            practice,
            patients[1].id,
            source="stop_reply",
            actor="desk",
            settings=twilio_settings,
            now=clock.now,
        )
        clock.now -= timedelta(minutes=10)

    after_first_send(sender, withdraw_and_step_back)

    sweep(sender, version="test")

    assert [status_of(m).status for m in messages] == ["sent", "cancelled", "sent"]


def test_a_prompt_slice_is_not_read_again_per_text(
    practice, twilio_settings, sender, fake_twilio, monkeypatch
):
    patients = [
        person(practice, twilio_settings, phone=f"(212) 555-01{n:02d}")
        for n in range(3)
    ]
    for patient in patients:
        text(practice, twilio_settings, patient)
    rechecked = []
    recheck = sender.checks.recheck
    monkeypatch.setattr(
        sender.checks, "recheck", lambda *a: rechecked.append(a) or recheck(*a)
    )

    summary = sweep(sender, version="test")

    assert summary.outcomes["sent"] == 3
    assert rechecked == []
