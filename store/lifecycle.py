"""The daemon's side of a message's lifecycle: claim, then settle the outcome.

Every transition out of ``sending`` is conditional on the row still being in
``sending``, so two workers, or a worker and the reconciler, can never both
settle one message.
"""

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from peewee import Case, Node

from store import statements, wakeups
from store.audit import SYSTEM_ACTOR, record_event
from store.db import database
from store.models import (
    ConsentRecord,
    MessageStatus,
    Practice,
    ScheduledMessage,
    SentMessage,
    utcnow,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(eq=False)
class _Write(Generic[T]):
    write: Callable[[], T]
    result: T | None = None
    error: BaseException | None = None
    finished: bool = False


class GroupCommit:
    """Writes from many threads made durable together, by one commit.

    A thread that finds no commit under way takes every write waiting and
    runs them in one transaction, each in its own savepoint; the others wait
    for that commit. Under load a group holds a write from each send thread,
    so they share one disk flush instead of queueing for one each.

    NOTE: ``run`` returns only after the commit that holds its write, so
    whatever its caller does next (call the provider, report a text sent)
    happens after the write is on disk, exactly as with a commit of its own.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[_Write[Any]] = []
        self._leading = False

    def run(self, write: Callable[[], T]) -> T:
        """Run ``write`` in a shared transaction; return or raise what it did.

        Inside a transaction of its own thread, the write joins that one.
        """
        if database.in_transaction():
            return write()

        job = _Write(write)
        with self._cond:
            self._waiting.append(job)
            while self._leading and not job.finished:
                self._cond.wait()
            if not job.finished:
                self._leading = True
                group, self._waiting = self._waiting, []
            else:
                group = []

        if group:
            try:
                self._commit(group)
            finally:
                with self._cond:
                    for done in group:
                        done.finished = True
                    self._leading = False
                    self._cond.notify_all()

        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _commit(self, group: list[_Write[Any]]) -> None:
        try:
            with database.atomic():
                for job in group:
                    try:
                        with database.atomic():
                            job.result = job.write()
                    except Exception as exc:
                        # Its savepoint is rolled back; the others still commit.
                        job.error = exc
        except BaseException as exc:
            # Nothing was committed: every write of the group failed, and
            # each caller raises that, the leader included.
            for job in group:
                job.error = job.error or exc


_group_commit = GroupCommit()


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


_SENT_COLUMNS = (
    "practice",
    "patient",
    "to_number",
    "body",
    "provider_sid",
    "segments",
    "encoding",
    "gateway",
    "consent",
    "sent_at",
)
_SENT_SETTLED = (
    "status",
    "updated_at",
    "sent_message",
    "provider_sid",
    "segments",
    "body",
    "sent_at",
    "last_error_code",
    "last_error",
)
_OURS = ("id", "status", "claim_token")


@dataclass(frozen=True)
class _SendPath:
    insert_sent: statements.Statement
    settle_sent: statements.Statement
    store_body: statements.Statement


_send_path = statements.BuiltOnce(
    lambda: _SendPath(
        insert_sent=statements.insert(SentMessage, _SENT_COLUMNS),
        settle_sent=statements.update(ScheduledMessage, _SENT_SETTLED, _OURS),
        store_body=statements.update(ScheduledMessage, ("body",), _OURS),
    )
)


@dataclass(frozen=True)
class Delivery:
    """What the provider accepted for one claimed message."""

    message: ScheduledMessage
    body: str
    provider_sid: str
    segments: int | None
    encoding: str
    gateway: str
    consent: ConsentRecord | int | None


def record_sent(
    message: ScheduledMessage,
    *,
    body: str,
    provider_sid: str,
    segments: int | None,
    encoding: str,
    gateway: str,
    consent: ConsentRecord | int | None,
    now: datetime | None = None,
) -> SentMessage | None:
    """Store what the provider accepted and mark the message sent, at once.

    Returns None, writing nothing, if another worker settled the row first.
    """
    delivery = Delivery(
        message, body, provider_sid, segments, encoding, gateway, consent
    )
    return record_deliveries([delivery], now=now)[0]


def record_deliveries(
    deliveries: Sequence[Delivery], *, now: datetime | None = None
) -> list[SentMessage | None]:
    """``record_sent`` for several messages, durable together in one commit.

    Each message is settled on its own guard: one another worker settled
    first gets None and leaves no trace, and the rest are still recorded.
    """
    now = now or utcnow()
    path = _send_path.get()
    records = [
        (
            d.message.practice_id,
            d.message.patient_id,
            d.message.to_number,
            d.body,
            d.provider_sid,
            d.segments,
            d.encoding,
            d.gateway,
            d.consent,
            now,
        )
        for d in deliveries
    ]
    # Each record copies its message's own practice and patient, and the
    # consent the pipeline found for that patient, so it cannot link across
    # practices. Every text of a backlog runs these statements, so they skip
    # the ORM's query building and a model save's per-link queries.

    def write() -> list[int | None]:
        return [
            _write_delivery(path, d, r, now)
            for d, r in zip(deliveries, records, strict=True)
        ]

    sent_ids = _group_commit.run(write)

    results: list[SentMessage | None] = []
    for delivery, record, sent_id in zip(deliveries, records, sent_ids, strict=True):
        if sent_id is None:
            log.warning(
                "Message %s was no longer being sent; left it as it is",
                delivery.message.id,
            )
            results.append(None)
            continue
        sent = SentMessage(id=sent_id, **dict(zip(_SENT_COLUMNS, record, strict=True)))
        _mirror_sent(delivery, sent, now)
        results.append(sent)
    return results


def _write_delivery(
    path: _SendPath, delivery: Delivery, record: tuple[Any, ...], now: datetime
) -> int | None:
    message = delivery.message
    sent_id = statements.inserted_id(path.insert_sent.run(*record))
    settled = path.settle_sent.run(
        MessageStatus.SENT,
        now,
        sent_id,
        delivery.provider_sid,
        delivery.segments,
        delivery.body,
        now,
        "",
        "",
        *_guard(message),
    )
    if settled.rowcount != 1:
        SentMessage.delete_by_id(sent_id)
        return None

    record_event(
        message.practice_id,
        SYSTEM_ACTOR,
        "message.sent",
        message,
        {"provider_sid": delivery.provider_sid, "gateway": delivery.gateway},
        now=now,
    )
    return sent_id


def _mirror_sent(delivery: Delivery, sent: SentMessage, now: datetime) -> None:
    message = delivery.message
    message.__data__.update(
        status=MessageStatus.SENT,
        updated_at=now,
        sent_message=sent.id,
        provider_sid=delivery.provider_sid,
        segments=delivery.segments,
        body=delivery.body,
        sent_at=now,
        last_error_code="",
        last_error="",
    )
    message.__rel__["sent_message"] = sent
    message._dirty.clear()  # type: ignore[attr-defined]


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
) -> bool:
    """Put a message back to wait until ``due_at`` without counting an attempt
    (quiet hours, paused sending)."""
    return _back_to_pending(message, due_at, "deferred", reason, now=now, refund=True)


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


def store_body(message: ScheduledMessage, body: str) -> bool:
    """Keep the text about to be handed over on the row, so a reconcile after
    a crash or timeout can match it against the provider's records.

    The body is durable when this returns, so it is stored before the send.
    False when the row is no longer ours to send.
    """
    return store_bodies([(message, body)])[0]


def store_bodies(bodies: Sequence[tuple[ScheduledMessage, str]]) -> list[bool]:
    """``store_body`` for several messages, durable together in one commit."""
    store = _send_path.get().store_body

    def write() -> list[bool]:
        return [store.run(body, *_guard(m)).rowcount == 1 for m, body in bodies]

    stored = _group_commit.run(write)
    for (message, body), ours in zip(bodies, stored, strict=True):
        if ours:
            message.body = body
            message._dirty.discard("body")  # type: ignore[attr-defined]
    return stored


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
) -> bool:
    now = now or utcnow()
    fields: dict[str, Any] = {
        "due_at": due_at,
        "last_error_code": code,
        "last_error": error,
        "version": ScheduledMessage.version + 1,
        "claim_token": "",
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


def _guard(message: ScheduledMessage) -> tuple[int, str, str]:
    """The values of ``_OURS``: the same guard as ``_ours``, for a statement."""
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
