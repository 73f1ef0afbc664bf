"""The outgoing queue as staff see it: schedule, cancel, retry and list.

The daemon's side of the lifecycle (claiming and marking rows) lives in
``store.lifecycle``.
"""

import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import peewee

from store import wakeups
from store.audit import record_event
from store.consent import current_consent
from store.db import database
from store.errors import InvalidInput, NotFound, WrongState
from store.models import (
    MessageKind,
    MessageStatus,
    Patient,
    Practice,
    ScheduledMessage,
    utcnow,
)
from store.patients import get_patient
from store.phones import normalize_phone
from store.quiet import next_allowed
from store.sms import MAX_BODY

if TYPE_CHECKING:
    from store.settings import Settings

log = logging.getLogger(__name__)

# A time typed as "now" has passed by the time it is saved; this much of the
# past is still taken as now.
PAST_GRACE = timedelta(minutes=2)

CANCELLED_BY_STAFF = "staff"


def check_body(body: str) -> str:
    """Return the body if it can be sent as one SMS message, else raise."""
    if not body or not body.strip():
        raise InvalidInput("The message is empty.", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(
            f"The message is {len(body)} characters; the most one text can hold "
            f"is {MAX_BODY}.",
            field="body",
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r" for ch in body):
        raise InvalidInput(
            "The message holds control characters that phones cannot show.",
            field="body",
        )
    return body


def check_due_time(at: datetime, now: datetime, *, field: str = "at") -> datetime:
    """Return the time if it is aware and not in the past, else raise."""
    if at.tzinfo is None:
        raise InvalidInput("The time needs a time zone.", field=field)
    if at < now - PAST_GRACE:
        raise InvalidInput(
            "That time is in the past; choose a time from now on.", field=field
        )
    return max(at.astimezone(UTC), now)


def schedule_message(
    practice: Practice,
    *,
    patient_id: int,
    body: str,
    at: datetime,
    actor: str,
    settings: "Settings",
    now: datetime | None = None,
) -> ScheduledMessage:
    """Queue a text to a patient at ``at``.

    Raises InvalidInput for an empty or too-long body, a time in the past, a
    number that cannot take texts, or a patient without current SMS consent.
    A time inside quiet hours is kept as asked, and the text waits for the
    window's end.
    """
    now = now or utcnow()
    body = check_body(body)
    at = check_due_time(at, now)

    with database.atomic():
        patient = get_patient(practice, patient_id)
        number = normalize_phone(patient.phone, practice.region)
        if current_consent(patient) is None:
            raise InvalidInput(
                f"{patient.full_name} has not agreed to texts; record their SMS "
                "consent first.",
                field="patient",
            )

        due_at = at
        if settings.sending.quiet_hours is not None:
            due_at = next_allowed(at, practice.zone, settings.sending.quiet_hours)

        message = ScheduledMessage.create(
            practice=practice,
            patient=patient,
            to_number=number,
            body=body,
            kind=MessageKind.MANUAL,
            scheduled_for=at,
            due_at=due_at,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        record_event(
            practice,
            actor,
            "message.scheduled",
            message,
            {"due_at": due_at.isoformat()},
            now=now,
        )
        wakeups.notify(message.id, due_at)

    log.info("Message %s scheduled for %s", message.id, due_at.isoformat())
    return message


def get_message(practice: Practice | int, message_id: int) -> ScheduledMessage:
    """The message with this id in this practice; raises NotFound otherwise."""
    message = (
        ScheduledMessage.for_tenant(practice)
        .where(ScheduledMessage.id == message_id)
        .first()
    )
    if message is None:
        raise NotFound(f"There is no message {message_id} in this practice.")
    return message


def cancel_message(
    practice: Practice,
    message_id: int,
    *,
    actor: str,
    now: datetime | None = None,
) -> ScheduledMessage:
    """Cancel a pending message so it never goes out.

    Raises WrongState for a message in any other status: one being sent may
    already be with the carrier, and a finished one cannot be undone.
    """
    now = now or utcnow()
    with database.atomic():
        message = get_message(practice, message_id)
        if message.status != MessageStatus.PENDING:
            raise WrongState(
                f"Message {message.id} is {message.status}; only pending "
                "messages can be cancelled."
            )

        _cancel(message, "Cancelled by staff.", CANCELLED_BY_STAFF, now)
        record_event(practice, actor, "message.cancelled", message, now=now)

    log.info("Message %s cancelled by staff", message.id)
    return message


def retry_message(
    practice: Practice,
    message_id: int,
    *,
    actor: str,
    settings: "Settings | None" = None,
    now: datetime | None = None,
) -> ScheduledMessage:
    """Send a failed message again, or one whose outcome is unknown.

    Staff decide an unknown outcome: retrying one accepts that the patient may
    get the text twice. Raises WrongState for any other status.
    """
    now = now or utcnow()
    with database.atomic():
        message = get_message(practice, message_id)
        if message.status not in (MessageStatus.FAILED, MessageStatus.UNKNOWN):
            raise WrongState(
                f"Message {message.id} is {message.status}; only failed messages "
                "or those with an unknown outcome can be retried."
            )
        if current_consent(message.patient_id) is None:
            raise InvalidInput(
                f"Message {message.id} cannot go: the patient has not agreed to "
                "texts (or withdrew). Record their SMS consent first.",
                field="patient",
            )

        due_at = now
        if settings is not None and settings.sending.quiet_hours is not None:
            due_at = next_allowed(now, practice.zone, settings.sending.quiet_hours)

        previous = message.status
        message.status = MessageStatus.PENDING
        message.due_at = due_at
        message.attempts = 0
        message.failed_at = None
        message.claimed_at = None
        # The old failure stays in the audit trail; on the row it would read
        # as the reason a text now waiting to go did not go.
        message.last_error_code = ""
        message.last_error = ""
        message.version += 1
        message.updated_at = now
        message.save()
        record_event(
            practice, actor, "message.retried", message, {"was": previous}, now=now
        )
        wakeups.notify(message.id, due_at)

    log.info("Message %s put back in the queue by staff (was %s)", message.id, previous)
    return message


def cancel_pending_for_patient(
    practice: Practice,
    patient: Patient,
    *,
    reason: str,
    code: str,
    actor: str,
    now: datetime,
) -> int:
    """Cancel every pending text to the patient; returns how many."""
    pending = list(
        ScheduledMessage.for_tenant(practice).where(
            (ScheduledMessage.patient == patient)
            & (ScheduledMessage.status == MessageStatus.PENDING)
        )
    )
    for message in pending:
        _cancel(message, reason, code, now)
        record_event(practice, actor, "message.cancelled", message, reason, now=now)
    return len(pending)


def _cancel(message: ScheduledMessage, reason: str, code: str, now: datetime) -> None:
    previous_due = message.due_at
    message.status = MessageStatus.CANCELLED
    message.cancelled_at = now
    message.last_error_code = code
    message.last_error = reason
    message.updated_at = now
    message.save()
    wakeups.notify(message.id, None, previous_due)


def pending_messages(practice: Practice | int) -> list[ScheduledMessage]:
    """Every pending message of the practice, soonest first."""
    return list(
        ScheduledMessage.for_tenant(practice)
        .where(ScheduledMessage.status == MessageStatus.PENDING)
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
    )


def due_messages(
    practice: Practice | int, now: datetime | None = None, limit: int | None = None
) -> list[ScheduledMessage]:
    """Pending messages whose time has come, oldest first."""
    now = now or utcnow()
    query = (
        ScheduledMessage.for_tenant(practice)
        .where(
            (ScheduledMessage.status == MessageStatus.PENDING)
            & (ScheduledMessage.due_at <= now)
        )
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(query)


@dataclass(frozen=True)
class MessageFilter:
    """What the queue screen and ``frontdesk messages`` narrow the list by."""

    status: str | None = None
    kind: str | None = None
    day_start: datetime | None = None  # UTC bounds of a practice-local day
    day_end: datetime | None = None
    patient_id: int | None = None
    appointment_id: int | None = None


def list_messages(
    practice: Practice | int,
    filters: MessageFilter = MessageFilter(),
    *,
    limit: int = 200,
    offset: int = 0,
    newest_first: bool = False,
) -> list[ScheduledMessage]:
    """A page of the practice's messages, by scheduled time."""
    query = _filtered(practice, filters)
    order = ScheduledMessage.scheduled_for
    if newest_first:
        query = query.order_by(order.desc(), ScheduledMessage.id.desc())
    else:
        query = query.order_by(order, ScheduledMessage.id)
    return list(query.limit(limit).offset(offset))


def count_messages(practice: Practice | int, filters: MessageFilter) -> int:
    return _filtered(practice, filters).count()


def count_by_status(practice: Practice | int) -> dict[str, int]:
    """How many messages are in each status; every status is present."""
    from peewee import fn

    counts = {str(status): 0 for status in MessageStatus}
    rows: Any = (
        ScheduledMessage.for_tenant(practice)
        .select(ScheduledMessage.status, fn.COUNT(ScheduledMessage.id))
        .group_by(ScheduledMessage.status)
        .tuples()
    )
    for status, count in rows:
        counts[status] = count
    return counts


def _filtered(
    practice: Practice | int, filters: MessageFilter
) -> "peewee.ModelSelect[ScheduledMessage]":
    query = ScheduledMessage.for_tenant(practice)
    if filters.status:
        statuses = [MessageStatus(s) for s in filters.status.split(",")]
        query = query.where(ScheduledMessage.status.in_([str(s) for s in statuses]))
    if filters.kind:
        query = query.where(ScheduledMessage.kind == MessageKind(filters.kind))
    if filters.day_start is not None:
        query = query.where(ScheduledMessage.scheduled_for >= filters.day_start)
    if filters.day_end is not None:
        query = query.where(ScheduledMessage.scheduled_for < filters.day_end)
    if filters.patient_id is not None:
        query = query.where(ScheduledMessage.patient == filters.patient_id)
    if filters.appointment_id is not None:
        query = query.where(ScheduledMessage.appointment == filters.appointment_id)
    return query
