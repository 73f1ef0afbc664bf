"""Sent and failed texts per practice-local day, for the desk's dashboard."""

from datetime import UTC, date, datetime, timedelta

import pytest

from store.db import database
from store.models import MessageStatus, ScheduledMessage
from store.stats import DayOutcome, daily_outcomes, settled_between


def settled(practice, patient, status, at, *, due_before=timedelta(minutes=1)):
    """A message that reached ``status`` at ``at``, due a little before."""
    fields = {"sent_at": at} if status == MessageStatus.SENT else {"failed_at": at}
    return ScheduledMessage.create(
        practice=practice,
        patient=patient,
        to_number=patient.phone,
        body="Your crown is ready.",
        status=status,
        scheduled_for=at - due_before,
        due_at=at - due_before,
        created_by="desk",
        **fields,
    )


def test_every_day_is_present_oldest_first(practice, now):
    outcomes = daily_outcomes(practice, 14, now)

    assert len(outcomes) == 14
    assert outcomes[0] == DayOutcome(date(2026, 11, 26), 0, 0)
    assert outcomes[-1] == DayOutcome(date(2026, 12, 9), 0, 0)


def test_counts_fall_on_the_practice_local_day(practice, patient, now):
    # 03:30 UTC on the 9th is 22:30 on the 8th in New York.
    settled(
        practice, patient, MessageStatus.SENT, datetime(2026, 12, 9, 3, 30, tzinfo=UTC)
    )
    settled(
        practice, patient, MessageStatus.SENT, datetime(2026, 12, 9, 13, 0, tzinfo=UTC)
    )
    settled(
        practice,
        patient,
        MessageStatus.FAILED,
        datetime(2026, 12, 9, 13, 5, tzinfo=UTC),
    )

    by_day = {o.day: o for o in daily_outcomes(practice, 14, now)}

    assert by_day[date(2026, 12, 8)] == DayOutcome(date(2026, 12, 8), 1, 0)
    assert by_day[date(2026, 12, 9)] == DayOutcome(date(2026, 12, 9), 1, 1)


def test_rows_outside_the_range_or_in_other_states_are_left_out(
    practice, other_practice, patient, now
):
    settled(practice, patient, MessageStatus.SENT, now - timedelta(days=20))
    settled(practice, patient, MessageStatus.SENT, now + timedelta(days=1))
    ScheduledMessage.create(
        practice=practice,
        patient=patient,
        to_number=patient.phone,
        status=MessageStatus.PENDING,
        scheduled_for=now,
        due_at=now,
        created_by="desk",
    )

    outcomes = daily_outcomes(practice, 14, now)
    assert sum(o.sent + o.failed for o in outcomes) == 0
    assert daily_outcomes(other_practice, 3, now)[-1].sent == 0


def test_a_message_sent_long_after_it_was_due_still_counts(practice, patient, now):
    settled(practice, patient, MessageStatus.SENT, now, due_before=timedelta(days=1))

    assert daily_outcomes(practice, 1, now) == [DayOutcome(date(2026, 12, 9), 1, 0)]


def test_the_day_of_a_dst_change_counts_its_25_hours(practice, patient):
    # New York falls back on 1 November 2026: that local day lasts 25 hours.
    late = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 23:30 EST on the 1st
    settled(practice, patient, MessageStatus.SENT, late)

    outcomes = daily_outcomes(practice, 2, datetime(2026, 11, 2, 15, tzinfo=UTC))

    assert outcomes == [
        DayOutcome(date(2026, 11, 1), 1, 0),
        DayOutcome(date(2026, 11, 2), 0, 0),
    ]


def test_the_query_reads_through_an_index_not_the_whole_table(practice, now):
    query = settled_between(
        practice,
        MessageStatus.SENT,
        ScheduledMessage.sent_at,
        now - timedelta(days=14),
        now,
    )
    sql, params = query.sql()

    plan = database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    assert any("USING INDEX" in str(row) for row in plan), plan


def test_days_must_be_positive(practice, now):
    with pytest.raises(ValueError, match="at least 1"):
        daily_outcomes(practice, 0, now)
