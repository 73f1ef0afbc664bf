"""Reminders follow their appointment: created, moved, cancelled, explained."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import peewee
import pytest

from store.appointments import (
    book_appointment,
    reminders_for,
    reschedule_appointment,
    set_appointment_status,
)
from store.consent import grant_consent, revoke_consent
from store.messages import cancel_message
from store.models import (
    Appointment,
    AppointmentStatus,
    MessageKind,
    MessageStatus,
    ScheduledMessage,
)
from store.patients import add_patient
from store.reminders import render_reminder

NEW_YORK = ZoneInfo("America/New_York")


def book(practice, patient, settings, now, starts_at, status="confirmed"):
    return book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=starts_at,
        provider="Dr. Chen",
        status=status,
        actor="desk",
        settings=settings,
        now=now,
    )


def live(appointment):
    return {
        m.reminder_offset: m
        for m in reminders_for(appointment)
        if m.status == MessageStatus.PENDING
    }


def test_a_confirmed_appointment_gets_a_24h_and_a_2h_reminder(
    practice, patient, settings, now, wakeup_log
):
    starts = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York

    appointment = book(practice, patient, settings, now, starts)

    reminders = live(appointment)
    assert sorted(reminders) == [2 * 3600, 24 * 3600]
    assert reminders[24 * 3600].due_at == starts - timedelta(hours=24)
    assert reminders[2 * 3600].due_at == starts - timedelta(hours=2)
    assert all(r.kind == MessageKind.REMINDER for r in reminders.values())
    assert {w.message_id for w in wakeup_log} == {r.id for r in reminders.values()}
    assert Appointment.get_by_id(appointment.id).reminder_note == ""


def test_a_booked_appointment_has_no_reminders_until_confirmed(
    practice, patient, settings, now
):
    starts = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    appointment = book(practice, patient, settings, now, starts, status="booked")

    assert live(appointment) == {}
    assert "confirmed" in Appointment.get_by_id(appointment.id).reminder_note

    set_appointment_status(
        practice, appointment.id, "confirmed", actor="desk", settings=settings, now=now
    )

    assert sorted(live(appointment)) == [2 * 3600, 24 * 3600]


def test_rescheduling_moves_the_pending_reminders(
    practice, patient, settings, now, wakeup_log
):
    starts = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    appointment = book(practice, patient, settings, now, starts)
    before = live(appointment)
    moved_to = starts + timedelta(days=2, hours=1)

    reschedule_appointment(
        practice, appointment.id, moved_to, actor="desk", settings=settings, now=now
    )

    after = live(appointment)
    assert {r.id for r in after.values()} == {r.id for r in before.values()}
    assert after[24 * 3600].due_at == moved_to - timedelta(hours=24)
    assert after[2 * 3600].due_at == moved_to - timedelta(hours=2)
    assert all(r.version == 2 for r in after.values())
    moved = [w for w in wakeup_log if w.previous_due_at is not None]
    assert {w.previous_due_at for w in moved} == {
        starts - timedelta(hours=24),
        starts - timedelta(hours=2),
    }


@pytest.mark.parametrize("status", ["cancelled", "booked", "completed", "no_show"])
def test_any_status_but_confirmed_cancels_the_reminders(
    practice, patient, settings, now, status
):
    appointment = book(practice, patient, settings, now, now + timedelta(days=3))

    set_appointment_status(
        practice, appointment.id, status, actor="desk", settings=settings, now=now
    )

    rows = reminders_for(appointment)
    assert len(rows) == 2
    assert {r.status for r in rows} == {MessageStatus.CANCELLED}


def test_reconfirming_a_cancelled_appointment_brings_reminders_back_once(
    practice, patient, settings, now
):
    appointment = book(practice, patient, settings, now, now + timedelta(days=3))
    for status in ("cancelled", "confirmed", "cancelled", "confirmed"):
        set_appointment_status(
            practice, appointment.id, status, actor="desk", settings=settings, now=now
        )

    assert len(live(appointment)) == 2


def test_the_database_refuses_a_second_live_reminder_for_the_same_slot(
    practice, patient, settings, now
):
    appointment = book(practice, patient, settings, now, now + timedelta(days=3))
    original = live(appointment)[24 * 3600]

    with pytest.raises(peewee.IntegrityError):
        ScheduledMessage.create(
            practice=practice,
            patient=patient,
            to_number=patient.phone,
            kind=MessageKind.REMINDER,
            appointment=appointment,
            reminder_offset=24 * 3600,
            scheduled_for=original.scheduled_for,
            due_at=original.due_at,
            created_by="someone",
        )


def test_an_offset_already_passed_at_booking_is_skipped_and_explained(
    practice, patient, settings, now
):
    appointment = book(practice, patient, settings, now, now + timedelta(hours=3))

    assert sorted(live(appointment)) == [2 * 3600]
    note = Appointment.get_by_id(appointment.id).reminder_note
    assert note == "24 h reminder skipped: booked 3 h ahead"


def test_no_consent_means_no_reminders_and_the_appointment_says_so(
    practice, settings, now
):
    person = add_patient(practice, first_name="Tom", phone="212 555 0188", actor="d")
    appointment = book(practice, person, settings, now, now + timedelta(days=3))

    assert reminders_for(appointment) == []
    assert "not agreed to texts" in Appointment.get_by_id(appointment.id).reminder_note


def test_granting_consent_later_creates_only_the_reminders_still_ahead(
    practice, settings, now
):
    person = add_patient(practice, first_name="Tom", phone="212 555 0188", actor="d")
    appointment = book(practice, person, settings, now, now + timedelta(hours=30))
    later = now + timedelta(hours=10)  # the 24 h reminder time has passed

    grant_consent(
        practice,
        person.id,
        source="front_desk_verbal",
        actor="desk",
        settings=settings,
        now=later,
    )

    assert sorted(live(appointment)) == [2 * 3600]
    assert (
        "24 h reminder skipped" in Appointment.get_by_id(appointment.id).reminder_note
    )


def test_revoking_consent_cancels_pending_reminders_and_messages(
    practice, patient, settings, now
):
    appointment = book(practice, patient, settings, now, now + timedelta(days=3))

    revoke_consent(
        practice,
        patient.id,
        source="stop_reply",
        actor="desk",
        settings=settings,
        now=now,
    )

    assert {r.status for r in reminders_for(appointment)} == {MessageStatus.CANCELLED}
    assert (
        ScheduledMessage.select()
        .where(ScheduledMessage.status == MessageStatus.PENDING)
        .count()
        == 0
    )


def test_a_reminder_staff_cancelled_stays_cancelled_when_the_visit_is_edited(
    practice, patient, settings, now
):
    from store.appointments import update_appointment

    appointment = book(practice, patient, settings, now, now + timedelta(days=3))
    cancel_message(practice, live(appointment)[2 * 3600].id, actor="desk", now=now)

    update_appointment(
        practice,
        appointment.id,
        provider="Dr. Okafor",
        actor="desk",
        settings=settings,
        now=now,
    )

    assert sorted(live(appointment)) == [24 * 3600]


def test_moving_an_appointment_after_its_reminder_went_out_reminds_again(
    practice, patient, settings, now
):
    from store.deliveries import record_sent
    from store.lifecycle import claim_message

    starts = now + timedelta(hours=30)
    appointment = book(practice, patient, settings, now, starts)
    first = live(appointment)[24 * 3600]
    at = first.due_at
    record_sent(
        claim_message(first.id, at),
        body="x",
        provider_sid="SM1",
        segments=1,
        encoding="GSM-7",
        gateway="outbox",
        consent=None,
        now=at,
    )

    reschedule_appointment(
        practice,
        appointment.id,
        starts + timedelta(days=7),
        actor="desk",
        settings=settings,
        now=at + timedelta(minutes=5),
    )

    fresh = live(appointment)[24 * 3600]
    assert fresh.id != first.id
    assert fresh.due_at == starts + timedelta(days=6)


def test_the_text_is_rendered_from_the_appointment_as_it_is_now(
    practice, patient, settings, now
):
    appointment = book(
        practice, patient, settings, now, datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    )
    reschedule_appointment(
        practice,
        appointment.id,
        datetime(2026, 12, 15, 19, 30, tzinfo=UTC),
        actor="desk",
        settings=settings,
        now=now,
    )
    fresh = Appointment.get_by_id(appointment.id)

    text = render_reminder(fresh, practice, settings.reminders.template)

    assert "Maria" in text
    assert "Dr. Chen" in text
    assert "Harbour Dental" in text
    assert "Tuesday 15 December" in text
    assert "2:30 PM" in text
    assert "10:00" not in text
    assert "CANCEL" not in text.upper()


def test_a_reminder_across_the_spring_dst_change_is_a_true_24_hours(
    practice, patient, settings
):
    # Clocks in New York jump from 02:00 to 03:00 on Sunday 14 March 2027.
    booked_on = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    starts = datetime(2027, 3, 14, 10, 0, tzinfo=NEW_YORK)

    appointment = book(practice, patient, settings, booked_on, starts)

    reminder = live(appointment)[24 * 3600]
    assert reminder.due_at == starts.astimezone(UTC) - timedelta(hours=24)
    # Saturday's wall clock reads 09:00: a day before in real hours.
    assert reminder.due_at.astimezone(NEW_YORK).hour == 9
    text = render_reminder(
        Appointment.get_by_id(appointment.id), practice, settings.reminders.template
    )
    assert "Sunday 14 March" in text
    assert "10:00 AM" in text


def test_a_reminder_across_the_autumn_dst_change_lands_at_the_right_local_time(
    practice, patient, settings
):
    # Clocks in New York fall back from 02:00 to 01:00 on Sunday 1 November 2026.
    booked_on = datetime(2026, 10, 20, 15, 0, tzinfo=UTC)
    starts = datetime(2026, 11, 1, 10, 0, tzinfo=NEW_YORK)  # Sunday 10:00 EST

    appointment = book(practice, patient, settings, booked_on, starts)

    reminders = live(appointment)
    two_hours = reminders[2 * 3600].due_at.astimezone(NEW_YORK)
    day_before = reminders[24 * 3600].due_at.astimezone(NEW_YORK)
    assert (two_hours.day, two_hours.hour) == (1, 8)
    # 24 real hours before 10:00 EST is 11:00 EDT on the Saturday.
    assert (day_before.day, day_before.hour) == (31, 11)
    assert reminders[24 * 3600].due_at == starts.astimezone(UTC) - timedelta(hours=24)


def test_an_early_reminder_in_quiet_hours_moves_to_the_evening_before(
    practice, patient, settings, now
):
    # 08:30 start: 2 h before is 06:30 (quiet), and 08:00 leaves under 1 h lead.
    starts = datetime(2026, 12, 15, 8, 30, tzinfo=NEW_YORK)

    appointment = book(practice, patient, settings, now, starts)

    due = live(appointment)[2 * 3600].due_at.astimezone(NEW_YORK)
    assert (due.day, due.hour) == (14, 20)
    assert due.minute == 59


def test_a_reminder_in_quiet_hours_moves_later_when_the_lead_allows(
    practice, patient, settings, now
):
    # 10:00 start: 2 h before is 08:00, the window's end, so it stays.
    # 09:15 start with a 2 h offset: 07:15 is quiet; 08:00 leaves 1 h 15 min.
    starts = datetime(2026, 12, 15, 9, 15, tzinfo=NEW_YORK)

    appointment = book(practice, patient, settings, now, starts)

    due = live(appointment)[2 * 3600].due_at.astimezone(NEW_YORK)
    assert (due.day, due.hour, due.minute) == (15, 8, 0)


def test_no_allowed_time_means_the_reminder_is_skipped_with_a_reason(
    practice, patient, settings, now
):
    # The evening before is already past, and 08:00 leaves only 30 minutes.
    starts = datetime(2026, 12, 10, 8, 30, tzinfo=NEW_YORK)
    late_night = datetime(2026, 12, 10, 5, 0, tzinfo=NEW_YORK)
    strict = replace(
        settings, reminders=replace(settings.reminders, offsets=(timedelta(hours=2),))
    )

    appointment = book(practice, patient, strict, late_night, starts)

    assert live(appointment) == {}
    assert "quiet hours" in Appointment.get_by_id(appointment.id).reminder_note


def test_an_appointment_status_of_cancelled_is_final_for_its_reminders(
    practice, patient, settings, now
):
    appointment = book(practice, patient, settings, now, now + timedelta(days=3))
    set_appointment_status(
        practice,
        appointment.id,
        AppointmentStatus.CANCELLED,
        actor="desk",
        settings=settings,
        now=now,
    )

    assert (
        ScheduledMessage.select()
        .where(
            (ScheduledMessage.appointment == appointment)
            & (ScheduledMessage.status == MessageStatus.PENDING)
        )
        .count()
        == 0
    )


@pytest.mark.parametrize("provider", ["Dr.\x07 Chen", "Dr. \x9bChen", "x" * 101])
def test_a_provider_name_a_phone_cannot_show_is_refused(
    practice, patient, settings, now, provider
):
    from store.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        book_appointment(
            practice,
            patient_id=patient.id,
            starts_at=now + timedelta(days=2),
            provider=provider,
            actor="desk",
            settings=settings,
            now=now,
        )

    assert caught.value.field == "provider"
    assert Appointment.select().count() == 0
