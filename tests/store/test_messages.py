"""Scheduling, cancelling and retrying messages, and the queue queries."""

from dataclasses import replace
from datetime import timedelta

import pytest

from store.consent import revoke_consent
from store.db import database
from store.errors import InvalidInput, WrongState
from store.lifecycle import claim_message, mark_failed, mark_unknown
from store.messages import (
    MessageFilter,
    cancel_message,
    count_by_status,
    due_messages,
    list_messages,
    pending_messages,
    retry_message,
    schedule_message,
)
from store.models import AuditEvent, MessageStatus, Patient, ScheduledMessage
from store.patients import add_patient


def schedule(practice, patient, settings, now, **overrides):
    args = dict(
        patient_id=patient.id,
        body="Your crown is ready to fit.",
        at=now + timedelta(hours=1),
        actor="desk",
        settings=settings,
        now=now,
    )
    args.update(overrides)
    return schedule_message(practice, **args)


def test_schedule_through_the_service_stores_a_pending_message(
    practice, patient, settings, now, wakeup_log
):
    message = schedule(practice, patient, settings, now)

    stored = ScheduledMessage.get_by_id(message.id)
    assert stored.status == MessageStatus.PENDING
    assert stored.to_number == "+12125550134"
    assert stored.due_at == now + timedelta(hours=1)
    assert stored.created_by == "desk"
    assert stored.kind == "manual"
    assert [w.message_id for w in wakeup_log] == [message.id]
    assert AuditEvent.select().where(AuditEvent.action == "message.scheduled").count()


def test_a_past_time_is_refused(practice, patient, settings, now):
    with pytest.raises(InvalidInput, match="past") as caught:
        schedule(practice, patient, settings, now, at=now - timedelta(hours=1))

    assert caught.value.field == "at"
    assert ScheduledMessage.select().count() == 0


def test_a_moment_ago_counts_as_now(practice, patient, settings, now):
    message = schedule(practice, patient, settings, now, at=now - timedelta(seconds=30))

    assert message.due_at == now


@pytest.mark.parametrize(
    ("body", "reason"),
    [("", "empty"), ("   ", "empty"), ("x" * 1601, "1601 characters")],
)
def test_an_empty_or_too_long_body_is_refused(
    practice, patient, settings, now, body, reason
):
    with pytest.raises(InvalidInput, match=reason):
        schedule(practice, patient, settings, now, body=body)


def test_a_body_of_exactly_1600_characters_is_accepted(
    practice, patient, settings, now
):
    message = schedule(practice, patient, settings, now, body="y" * 1600)

    assert len(message.body) == 1600


def test_a_patient_without_consent_is_refused(practice, settings, now):
    person = add_patient(practice, first_name="Tom", phone="212 555 0188", actor="d")

    with pytest.raises(InvalidInput, match="consent"):
        schedule(practice, person, settings, now)


def test_a_patient_who_revoked_consent_is_refused(practice, patient, settings, now):
    revoke_consent(
        practice,
        patient.id,
        source="stop_reply",
        actor="desk",
        settings=settings,
        now=now,
    )

    with pytest.raises(InvalidInput, match="consent"):
        schedule(practice, patient, settings, now)


def test_an_invalid_stored_number_is_refused(practice, patient, settings, now):
    # Written past the service on purpose: an old row holding a bad number.
    Patient.update(phone="12345").where(Patient.id == patient.id).execute()

    with pytest.raises(InvalidInput, match="12345"):
        schedule(practice, patient, settings, now)


def test_a_time_inside_quiet_hours_waits_for_the_window_to_end(
    practice, patient, settings, now
):
    # 22:30 in New York on 9 December is 03:30 UTC the next day.
    late_evening = now.replace(hour=3, minute=30) + timedelta(days=1)

    message = schedule(practice, patient, settings, now, at=late_evening)

    assert message.scheduled_for == late_evening
    assert message.due_at.astimezone(practice.zone).hour == 8
    assert message.due_at.astimezone(practice.zone).minute == 0


def test_quiet_hours_can_be_turned_off(practice, patient, settings, now):
    late_evening = now.replace(hour=3, minute=30) + timedelta(days=1)
    no_quiet = replace(settings, sending=replace(settings.sending, quiet_hours=None))

    message = schedule(practice, patient, no_quiet, now, at=late_evening)

    assert message.due_at == late_evening


def test_pending_filter_lists_only_pending_messages(practice, patient, settings, now):
    first = schedule(practice, patient, settings, now, at=now + timedelta(hours=2))
    second = schedule(practice, patient, settings, now, at=now + timedelta(hours=1))
    cancel_message(practice, first.id, actor="desk", now=now)

    assert [m.id for m in pending_messages(practice)] == [second.id]


def test_due_filter_is_pending_and_due_oldest_first_for_that_practice(
    practice, other_practice, patient, settings, now
):
    later = schedule(practice, patient, settings, now, at=now + timedelta(minutes=20))
    sooner = schedule(practice, patient, settings, now, at=now + timedelta(minutes=10))
    schedule(practice, patient, settings, now, at=now + timedelta(hours=3))
    cancelled = schedule(
        practice, patient, settings, now, at=now + timedelta(minutes=5)
    )
    cancel_message(practice, cancelled.id, actor="desk", now=now)

    at = now + timedelta(minutes=30)

    assert [m.id for m in due_messages(practice, at)] == [sooner.id, later.id]
    assert due_messages(other_practice, at) == []


def test_is_due(practice, patient, settings, now):
    message = schedule(practice, patient, settings, now, at=now + timedelta(minutes=10))

    assert not message.is_due(now)
    assert message.is_due(now + timedelta(minutes=10))
    cancel_message(practice, message.id, actor="desk", now=now)
    assert not ScheduledMessage.get_by_id(message.id).is_due(now + timedelta(hours=1))


def test_cancel_pending_makes_it_cancelled_and_revokes_its_wakeup(
    practice, patient, settings, now, wakeup_log
):
    message = schedule(practice, patient, settings, now)

    cancel_message(practice, message.id, actor="lee", now=now)

    stored = ScheduledMessage.get_by_id(message.id)
    assert stored.status == MessageStatus.CANCELLED
    assert stored.cancelled_at == now
    assert wakeup_log[-1].due_at is None
    assert wakeup_log[-1].previous_due_at == message.due_at
    event = AuditEvent.get(AuditEvent.action == "message.cancelled")
    assert event.actor == "lee"


@pytest.mark.parametrize("status", ["sending", "sent", "cancelled", "expired"])
def test_cancel_refuses_anything_but_pending(practice, patient, settings, now, status):
    message = schedule(practice, patient, settings, now)
    ScheduledMessage.update(status=status).where(
        ScheduledMessage.id == message.id
    ).execute()

    with pytest.raises(WrongState, match="only pending"):
        cancel_message(practice, message.id, actor="desk", now=now)
    assert ScheduledMessage.get_by_id(message.id).status == status


def test_mark_failed_records_the_reason(practice, patient, settings, now):
    message = schedule(practice, patient, settings, now, at=now)
    claimed = claim_message(message.id, now)

    assert mark_failed(claimed, "21614", "Not a mobile number.", now=now)

    stored = ScheduledMessage.get_by_id(message.id)
    assert stored.status == MessageStatus.FAILED
    assert stored.last_error_code == "21614"
    assert stored.last_error == "Not a mobile number."
    assert stored.failed_at == now


def test_retry_takes_failed_and_unknown_back_to_pending(
    practice, patient, settings, now
):
    failed = schedule(practice, patient, settings, now, at=now)
    unknown = schedule(practice, patient, settings, now, at=now)
    mark_failed(claim_message(failed.id, now), "21612", "Cannot route.", now=now)
    mark_unknown(claim_message(unknown.id, now), "No answer.", now=now)
    later = now + timedelta(minutes=5)

    for message in (failed, unknown):
        retry_message(practice, message.id, actor="desk", now=later)
        stored = ScheduledMessage.get_by_id(message.id)
        assert stored.status == MessageStatus.PENDING
        assert stored.due_at == later
        assert stored.attempts == 0
        assert (stored.last_error_code, stored.last_error) == ("", "")


@pytest.mark.parametrize("status", ["pending", "sending", "sent", "cancelled"])
def test_retry_refuses_other_statuses(practice, patient, settings, now, status):
    message = schedule(practice, patient, settings, now)
    ScheduledMessage.update(status=status).where(
        ScheduledMessage.id == message.id
    ).execute()

    with pytest.raises(WrongState):
        retry_message(practice, message.id, actor="desk", now=now)


def test_a_rolled_back_schedule_asks_for_no_wakeup(
    practice, patient, settings, now, wakeup_log
):
    with pytest.raises(RuntimeError), database.atomic():
        schedule(practice, patient, settings, now)
        raise RuntimeError("the desk closed the form")

    assert wakeup_log == []
    assert ScheduledMessage.select().count() == 0


def test_list_and_count_by_status(practice, patient, settings, now):
    one = schedule(practice, patient, settings, now)
    schedule(practice, patient, settings, now)
    cancel_message(practice, one.id, actor="desk", now=now)

    counts = count_by_status(practice)
    listed = list_messages(practice, MessageFilter(status="cancelled"))

    assert counts["pending"] == 1
    assert counts["cancelled"] == 1
    assert counts["unknown"] == 0
    assert [m.id for m in listed] == [one.id]


def test_retry_is_refused_while_the_patient_has_no_consent(
    practice, patient, settings, now
):
    message = schedule(practice, patient, settings, now, at=now)
    mark_failed(claim_message(message.id, now), "21610", "Unsubscribed.", now=now)
    revoke_consent(
        practice,
        patient.id,
        source="carrier_opt_out",
        actor="system",
        settings=settings,
        now=now,
    )

    with pytest.raises(InvalidInput, match="consent"):
        retry_message(practice, message.id, actor="desk", now=now)

    assert ScheduledMessage.get_by_id(message.id).status == MessageStatus.FAILED


@pytest.mark.parametrize("source", ["stop_reply", "carrier_opt_out"])
def test_a_withdrawal_source_cannot_record_a_grant(practice, settings, now, source):
    from store.consent import grant_consent
    from store.models import ConsentRecord

    person = add_patient(practice, first_name="Lee", phone="212 555 0177", actor="d")

    with pytest.raises(InvalidInput, match="withdrawal"):
        grant_consent(
            practice,
            person.id,
            source=source,
            actor="desk",
            settings=settings,
            now=now,
        )

    assert ConsentRecord.select().count() == 0
