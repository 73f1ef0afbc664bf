"""Read-only queries for the desk's screens: daily outcomes and page batches."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import peewee

from store.models import (
    Appointment,
    Channel,
    ConsentRecord,
    MessageKind,
    MessageStatus,
    Patient,
    Practice,
    ScheduledMessage,
    utcnow,
)

# NOTE: a message is claimed only once its due_at has passed, and it is sent or
# fails after the claim, so due_at <= sent_at and due_at <= failed_at. Bounding
# due_at lets the (practice, status, due_at) index find the rows; the slack
# covers a message that sat in "sending" while the daemon was down.
SETTLE_SLACK = timedelta(days=2)


@dataclass(frozen=True)
class DayOutcome:
    """How many texts went out, and how many failed, on one practice-local day."""

    day: date
    sent: int
    failed: int


def daily_outcomes(
    practice: Practice, days: int = 14, now: datetime | None = None
) -> list[DayOutcome]:
    """The last ``days`` practice-local days up to today, oldest first.

    A message counts on the day it was sent, or failed, in the practice's time
    zone; every day is present, with zeros when nothing happened. Reads only
    the rows of that range, through the status and due-time index.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")

    now = now or utcnow()
    zone = practice.zone
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)

    sent = _local_days(
        practice, MessageStatus.SENT, ScheduledMessage.sent_at, start, end
    )
    failed = _local_days(
        practice, MessageStatus.FAILED, ScheduledMessage.failed_at, start, end
    )

    return [
        DayOutcome(day, sent[day], failed[day])
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def _local_days(
    practice: Practice,
    status: MessageStatus,
    column,  # type: ignore[no-untyped-def]
    start: datetime,
    end: datetime,
) -> Counter[date]:
    # Days are counted here rather than in SQL: a local day is not a fixed
    # UTC slice when the clocks change.
    zone = practice.zone
    counts: Counter[date] = Counter()
    rows: Any = settled_between(practice, status, column, start, end).tuples()
    for (instant,) in rows:
        counts[instant.astimezone(zone).date()] += 1
    return counts


def settled_between(
    practice: Practice,
    status: MessageStatus,
    column,  # type: ignore[no-untyped-def]
    start: datetime,
    end: datetime,
) -> "peewee.ModelSelect[ScheduledMessage]":
    """The ``column`` instants of the messages that reached ``status`` in
    [start, end); only that one column is read."""
    return (
        ScheduledMessage.for_tenant(practice)
        .select(column)
        .where(
            (ScheduledMessage.status == status)
            & (ScheduledMessage.due_at >= start - SETTLE_SLACK)
            & (ScheduledMessage.due_at < end)
            & (column >= start)
            & (column < end)
        )
    )


# Batch reads for one page of a screen: one query per page, not one per row.


def unindexed(field: peewee.Field) -> peewee.Node:
    """``+field``: the same value, but SQLite will not read it by an index.

    For a query whose best index the planner, having no statistics, would
    pass over for a worse one that this column leads.
    """
    return peewee.NodeList((peewee.SQL("+"), field), glue="")


def _practice_id(practice: Practice | int) -> int:
    return practice.id if isinstance(practice, Practice) else practice


def reminders_by_appointment(
    practice: Practice | int, appointment_ids: Iterable[int]
) -> dict[int, list[ScheduledMessage]]:
    """Every reminder row of these appointments, oldest first, by appointment."""
    ids = list(appointment_ids)
    found: dict[int, list[ScheduledMessage]] = {i: [] for i in ids}
    if not ids:
        return found

    # As in latest_consents: the practice's index would read every message.
    rows = (
        ScheduledMessage.select()
        .where(
            (unindexed(ScheduledMessage.practice) == _practice_id(practice))
            & ScheduledMessage.appointment.in_(ids)
            & (ScheduledMessage.kind == MessageKind.REMINDER)
        )
        .order_by(ScheduledMessage.id)
    )
    for row in rows:
        found[row.appointment_id or 0].append(row)
    return found


def latest_consents(
    practice: Practice | int, patient_ids: Iterable[int]
) -> dict[int, ConsentRecord]:
    """The newest SMS consent record of each of these patients that has one."""
    ids = list(patient_ids)
    if not ids:
        return {}

    # The practice is matched without its index: SQLite, with no statistics,
    # would take that index and read every record of the practice rather
    # than the few of these patients through the patient index.
    rows = (
        ConsentRecord.select()
        .where(
            (unindexed(ConsentRecord.practice) == _practice_id(practice))
            & ConsentRecord.patient.in_(ids)
            & (ConsentRecord.channel == Channel.SMS)
        )
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    )
    return {row.patient_id: row for row in rows}


def patients_by_id(
    practice: Practice | int, patient_ids: Iterable[int]
) -> dict[int, Patient]:
    """These patients of the practice, by id."""
    ids = list(set(patient_ids))
    if not ids:
        return {}
    rows = Patient.for_tenant(practice).where(Patient.id.in_(ids))
    return {row.id: row for row in rows}


def appointments_by_id(
    practice: Practice | int, appointment_ids: Iterable[int]
) -> dict[int, Appointment]:
    """These appointments of the practice, by id."""
    ids = list(set(appointment_ids))
    if not ids:
        return {}
    rows = Appointment.for_tenant(practice).where(Appointment.id.in_(ids))
    return {row.id: row for row in rows}


def count_appointments_between(
    practice: Practice | int, start: datetime, end: datetime
) -> int:
    """How many appointments start in [start, end)."""
    return (
        Appointment.for_tenant(practice)
        .where((Appointment.starts_at >= start) & (Appointment.starts_at < end))
        .count()
    )
