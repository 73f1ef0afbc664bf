"""The daemon's side of a message's lifecycle: claim, then settle the outcome.

Every transition out of ``sending`` is conditional on the row still being in
``sending``, so two workers, or a worker and the reconciler, can never both
settle one message.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from peewee import Case, Node

from store import wakeups
from store.audit import SYSTEM_ACTOR, record_event
from store.db import database
from store.models import (
    MessageStatus,
    Practice,
    ScheduledMessage,
    SentMessage,
    utcnow,
)

log = logging.getLogger(__name__)

# The columns of the guard every transition out of sending is made under.
CLAIM_GUARD = ("id", "status", "claim_token")


def claim_message(
    message_id: int, now: datetime | None = None
) -> ScheduledMessage | None:
    """Move one due pending message to sending; None if it is not ours to send.

    Exactly one caller wins a race for the same row.
    """
    now = now or utcnow()
    token = uuid.uuid4().hex
    with database.atomic():
        claimed = (
            ScheduledMessage.update(
                status=MessageStatus.SENDING,
                claimed_at=now,
                claim_token=token,
                attempts=ScheduledMessage.attempts + 1,
                updated_at=now,
            )
            .where(
                (ScheduledMessage.id == message_id)
                & (ScheduledMessage.status == MessageStatus.PENDING)
                & (ScheduledMessage.due_at <= now)
            )
            .execute()
        )
    if claimed != 1:
        return None
    return ScheduledMessage.get_by_id(message_id)


def claim_due(
    practice: Practice | int, now: datetime | None = None, limit: int = 100
) -> list[ScheduledMessage]:
    """Claim up to ``limit`` of the practice's due messages, oldest first.

    One transaction for the batch keeps a large backlog from paying one
    durable commit per row.
    """
    now = now or utcnow()
    token = uuid.uuid4().hex
    with database.atomic():
        due_ids = [
            row.id
            for row in ScheduledMessage.for_tenant(practice)
            .select(ScheduledMessage.id)
            .where(
                (ScheduledMessage.status == MessageStatus.PENDING)
                & (ScheduledMessage.due_at <= now)
            )
            .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
            .limit(limit)
        ]
        if not due_ids:
            return []
        ScheduledMessage.update(
            status=MessageStatus.SENDING,
            claimed_at=now,
            claim_token=token,
            attempts=ScheduledMessage.attempts + 1,
            updated_at=now,
        ).where(
            ScheduledMessage.id.in_(due_ids)
            & (ScheduledMessage.status == MessageStatus.PENDING)
        ).execute()

    # Read back by id as well as token: the token alone lets the planner
    # walk every row of the practice, so the sweep would slow as the history
    # grows.
    return list(
        ScheduledMessage.for_tenant(practice)
        .where(
            ScheduledMessage.id.in_(due_ids) & (ScheduledMessage.claim_token == token)
        )
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
    )


def mark_sent(
    message: ScheduledMessage,
    sent: SentMessage,
    *,
    now: datetime | None = None,
) -> bool:
    """Mark a message sent and link the record of what went out.

    Raises ValueError (CrossPracticeLink) when the record belongs to another
    practice. Returns False, changing nothing, when the message is no longer
    being sent by us.
    """
    now = now or utcnow()
    message.sent_message = sent
    message.check_same_practice()

    changed = _settle(
        message,
        MessageStatus.SENT,
        now=now,
        sent_message=sent.id,
        provider_sid=sent.provider_sid,
        segments=sent.segments,
        body=sent.body,
        sent_at=sent.sent_at,
        last_error_code="",
        last_error="",
    )
    return changed


def mark_failed(
    message: ScheduledMessage, code: str, error: str, *, now: datetime | None = None
) -> bool:
    """The provider refused the message for good; staff may fix and retry."""
    now = now or utcnow()
    return _settle_and_record(
        message,
        MessageStatus.FAILED,
        "message.failed",
        {"code": code, "error": error},
        now=now,
        failed_at=now,
        last_error_code=code,
        last_error=error,
    )


def release_for_retry(
    message: ScheduledMessage,
    due_at: datetime,
    code: str,
    error: str,
    *,
    now: datetime | None = None,
) -> bool:
    """Put a message back in the queue for another attempt at ``due_at``."""
    return _back_to_pending(message, due_at, code, error, now=now, refund=False)


def defer_message(
    message: ScheduledMessage,
    due_at: datetime,
    reason: str,
    *,
    now: datetime | None = None,
    forget_body: bool = False,
) -> bool:
    """Put a message back to wait until ``due_at`` without counting an attempt
    (quiet hours, paused sending). ``forget_body`` clears a reminder's text
    written for this attempt, when what it says has changed."""
    extra = {"body": ""} if forget_body else {}
    return _back_to_pending(
        message, due_at, "deferred", reason, now=now, refund=True, **extra
    )


def mark_expired(
    message: ScheduledMessage, reason: str, *, now: datetime | None = None
) -> bool:
    """Too late to be of use: the appointment started, or it is hours late."""
    now = now or utcnow()
    return _settle_and_record(
        message,
        MessageStatus.EXPIRED,
        "message.expired",
        reason,
        now=now,
        expired_at=now,
        attempts=_one_fewer_attempt(),
        last_error_code="expired",
        last_error=reason,
    )


def cancel_claimed(
    message: ScheduledMessage,
    reason: str,
    code: str,
    *,
    now: datetime | None = None,
) -> bool:
    """Send-time checks ruled the message out (no consent, visit cancelled):
    it is not sent, and says why."""
    now = now or utcnow()
    return _settle_and_record(
        message,
        MessageStatus.CANCELLED,
        "message.cancelled",
        reason,
        now=now,
        cancelled_at=now,
        attempts=_one_fewer_attempt(),
        last_error_code=code,
        last_error=reason,
    )


def mark_unknown(
    message: ScheduledMessage, reason: str, *, now: datetime | None = None
) -> bool:
    """Nobody can tell whether the provider took the message: staff decide."""
    now = now or utcnow()
    return _settle_and_record(
        message,
        MessageStatus.UNKNOWN,
        "message.unknown",
        reason,
        now=now,
        last_error_code="unknown",
        last_error=reason,
    )


def note_in_doubt(
    message: ScheduledMessage, code: str, error: str, *, now: datetime | None = None
) -> bool:
    """Leave the row in sending with the reason, for the reconciler to settle."""
    now = now or utcnow()
    updated = (
        ScheduledMessage.update(last_error_code=code, last_error=error, updated_at=now)
        .where(_ours(message))
        .execute()
    )
    return updated == 1


def count_due(practice: Practice | int, now: datetime) -> int:
    """How many of the practice's pending messages are due by ``now``."""
    return (
        ScheduledMessage.for_tenant(practice)
        .where(
            (ScheduledMessage.status == MessageStatus.PENDING)
            & (ScheduledMessage.due_at <= now)
        )
        .count()
    )


def in_doubt(
    practice: Practice | int, claimed_before: datetime, limit: int = 200
) -> list[ScheduledMessage]:
    """Messages stuck in sending since before ``claimed_before``: a crash, a
    timeout or a dropped connection left their outcome open."""
    return list(
        ScheduledMessage.for_tenant(practice)
        .where(
            (ScheduledMessage.status == MessageStatus.SENDING)
            & (ScheduledMessage.claimed_at < claimed_before)
        )
        .order_by(ScheduledMessage.claimed_at, ScheduledMessage.id)
        .limit(limit)
    )


def _back_to_pending(
    message: ScheduledMessage,
    due_at: datetime,
    code: str,
    error: str,
    *,
    now: datetime | None,
    refund: bool,
    **extra: Any,
) -> bool:
    now = now or utcnow()
    fields: dict[str, Any] = {
        "due_at": due_at,
        "last_error_code": code,
        "last_error": error,
        "version": ScheduledMessage.version + 1,
        "claim_token": "",
        **extra,
    }
    if refund:
        fields["attempts"] = _one_fewer_attempt()

    with database.atomic():
        changed = _settle(message, MessageStatus.PENDING, now=now, **fields)
        if changed:
            wakeups.notify(message.id, due_at)
    return changed


def _one_fewer_attempt() -> Case:
    # The claim counted an attempt; a row put back without reaching the
    # provider gets it back.
    attempts = ScheduledMessage.attempts
    return Case(None, ((attempts > 0, attempts - 1),), 0)


def _ours(message: ScheduledMessage):  # type: ignore[no-untyped-def]
    """The row is still in sending under the very claim this worker holds.

    NOTE: the status alone is not enough. A reconciler holding a stale copy
    could otherwise settle a row that another worker has since re-claimed and
    is sending, and put it back in the queue to be sent twice.
    """
    return (
        (ScheduledMessage.id == message.id)
        & (ScheduledMessage.status == MessageStatus.SENDING)
        & (ScheduledMessage.claim_token == message.claim_token)
    )


def claim_guard(message: ScheduledMessage) -> tuple[int, str, str]:
    """The values of ``CLAIM_GUARD``: the same guard as ``_ours``, as values
    for a statement built once."""
    return message.id, MessageStatus.SENDING, message.claim_token


def _settle_and_record(
    message: ScheduledMessage,
    status: MessageStatus,
    action: str,
    detail: dict[str, Any] | str,
    *,
    now: datetime,
    **fields: Any,
) -> bool:
    """Settle the row and, if it was ours, audit the outcome in one commit."""
    with database.atomic():
        changed = _settle(message, status, now=now, **fields)
        if changed:
            record_event(
                message.practice_id, SYSTEM_ACTOR, action, message, detail, now=now
            )
    return changed


def _settle(
    message: ScheduledMessage, status: MessageStatus, *, now: datetime, **fields: Any
) -> bool:
    """Move the row out of sending, only if it is still in sending."""
    if not _apply(message, status, now=now, **fields):
        log.warning("Message %s was no longer being sent; left it as it is", message.id)
        return False
    return True


def _apply(
    message: ScheduledMessage, status: MessageStatus, *, now: datetime, **fields: Any
) -> bool:
    """The guarded update, mirrored on ``message``; False if it was not ours."""
    values = {"status": status, "updated_at": now, **fields}
    updated = ScheduledMessage.update(**values).where(_ours(message)).execute()
    if updated != 1:
        return False

    if any(isinstance(value, Node) for value in values.values()):
        # An expression (one attempt fewer, the next version) is worked out
        # by the database; read the row back to know its result.
        fresh = ScheduledMessage.get_by_id(message.id)
        message.__data__.update(fresh.__data__)
    else:
        message.__data__.update(values)
    message._dirty.clear()  # type: ignore[attr-defined]
    return True
