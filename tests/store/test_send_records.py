"""Recording what went out, several messages to a commit, each on its own claim."""

from datetime import timedelta

import peewee
import pytest

from store import statements
from store.db import database
from store.deliveries import Delivery, record_deliveries, store_bodies
from store.lifecycle import claim_due, claim_message, defer_message
from store.messages import schedule_message
from store.models import AuditEvent, MessageStatus, ScheduledMessage, SentMessage


def due_messages(practice, patient, settings, now, count):
    for n in range(count):
        schedule_message(
            practice,
            patient_id=patient.id,
            body=f"Your crown is ready to fit ({n}).",
            at=now + timedelta(minutes=5),
            actor="desk",
            settings=settings,
            now=now,
        )
    return claim_due(practice, now + timedelta(minutes=6))


def taken_over(message, now):
    """The row as another worker holds it after a re-claim: a new token."""
    defer_message(message, now, "handed back", now=now)
    return claim_message(message.id, now)


def delivery(message, n):
    return Delivery(
        message,
        body=f"Sent text {n}",
        provider_sid=f"SM{n:032d}",
        segments=1,
        encoding="GSM-7",
        gateway="twilio",
        consent=None,
    )


def test_each_delivery_is_recorded_once_with_its_audit_event(
    practice, patient, settings, now
):
    claimed = due_messages(practice, patient, settings, now, 3)
    sent_at = now + timedelta(minutes=7)

    recorded = record_deliveries(
        [delivery(m, n) for n, m in enumerate(claimed)], now=sent_at
    )

    assert [r.provider_sid for r in recorded] == [f"SM{n:032d}" for n in range(3)]
    for message, record in zip(claimed, recorded, strict=True):
        row = ScheduledMessage.get_by_id(message.id)
        assert row.status == MessageStatus.SENT
        assert row.sent_message_id == record.id
        assert row.sent_at == sent_at
        assert message.status == MessageStatus.SENT
        assert SentMessage.get_by_id(record.id).body == row.body
    events = AuditEvent.select().where(AuditEvent.action == "message.sent")
    assert sorted(e.subject_id for e in events) == sorted(m.id for m in claimed)
    assert {e.at for e in events} == {sent_at}


def test_a_row_reclaimed_by_another_worker_is_left_alone_and_the_rest_recorded(
    practice, patient, settings, now
):
    first, stale, last = due_messages(practice, patient, settings, now, 3)
    later = now + timedelta(minutes=7)
    fresh = taken_over(ScheduledMessage.get_by_id(stale.id), later)

    recorded = record_deliveries(
        [delivery(first, 0), delivery(stale, 1), delivery(last, 2)], now=later
    )

    assert recorded[1] is None
    assert recorded[0] is not None and recorded[2] is not None
    row = ScheduledMessage.get_by_id(stale.id)
    assert row.status == MessageStatus.SENDING
    assert row.claim_token == fresh.claim_token
    assert SentMessage.select().count() == 2
    assert not SentMessage.select().where(SentMessage.provider_sid == f"SM{1:032d}")
    assert (
        AuditEvent.select()
        .where(
            (AuditEvent.action == "message.sent") & (AuditEvent.subject_id == stale.id)
        )
        .count()
        == 0
    )


def test_bodies_are_stored_only_on_rows_still_ours(practice, patient, settings, now):
    mine, stale = due_messages(practice, patient, settings, now, 2)
    fresh = taken_over(ScheduledMessage.get_by_id(stale.id), now + timedelta(minutes=7))

    stored = store_bodies([(mine, "Rendered for mine"), (stale, "Rendered late")])

    assert stored == [True, False]
    assert ScheduledMessage.get_by_id(mine.id).body == "Rendered for mine"
    assert ScheduledMessage.get_by_id(stale.id).body == fresh.body


def test_a_failed_write_leaves_every_row_of_the_batch_in_sending(
    practice, patient, settings, now
):
    claimed = due_messages(practice, patient, settings, now, 2)
    broken = delivery(claimed[1], 1)
    # A patient that does not exist breaks the foreign key, standing in for
    # any fault that makes the write fail part-way through the batch.
    claimed[1].patient_id = 10**9

    with pytest.raises(peewee.IntegrityError):
        record_deliveries([delivery(claimed[0], 0), broken], now=now)

    statuses = {ScheduledMessage.get_by_id(m.id).status for m in claimed}
    assert statuses == {MessageStatus.SENDING}
    assert SentMessage.select().count() == 0


def test_statements_follow_the_database_placeholders_and_quoting(db):
    sqlite_insert = statements.insert(SentMessage, ("practice", "body"))
    assert sqlite_insert.sql == (
        'INSERT INTO "sent_message" ("practice_id", "body") VALUES (?, ?)'
    )

    bound = database.obj
    database.initialize(peewee.PostgresqlDatabase("frontdesk"))
    try:
        postgres_insert = statements.insert(SentMessage, ("practice", "body"))
        postgres_update = statements.update(
            ScheduledMessage, ("status", "body"), ("id", "claim_token")
        )
    finally:
        database.initialize(bound)

    assert postgres_insert.sql == (
        'INSERT INTO "sent_message" ("practice_id", "body") VALUES (%s, %s) '
        'RETURNING "id"'
    )
    assert postgres_update.sql == (
        'UPDATE "scheduled_message" SET "status" = %s, "body" = %s '
        'WHERE "id" = %s AND "claim_token" = %s'
    )
