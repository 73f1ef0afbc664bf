"""What goes out: each text's body stored before it is handed over, and the
record of what the provider accepted, a slice of texts to a commit.

These are the writes every text of a backlog makes, so their SQL is built
once, and writes from many send threads share one durable commit. Each row
is still written under the claim it was sent under (see ``store.lifecycle``).
"""

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from store import statements
from store.audit import SYSTEM_ACTOR, record_event
from store.db import database
from store.lifecycle import CLAIM_GUARD, claim_guard
from store.models import (
    ConsentRecord,
    MessageStatus,
    Patient,
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


@dataclass(frozen=True)
class _SendPath:
    insert_sent: statements.Statement
    settle_sent: statements.Statement
    store_body: statements.Statement


_send_path = statements.BuiltOnce(
    lambda: _SendPath(
        insert_sent=statements.insert(SentMessage, _SENT_COLUMNS),
        settle_sent=statements.update(ScheduledMessage, _SENT_SETTLED, CLAIM_GUARD),
        store_body=statements.update(ScheduledMessage, ("body",), CLAIM_GUARD),
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
        *claim_guard(message),
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


def store_bodies(bodies: Sequence[tuple[ScheduledMessage, str]]) -> list[bool]:
    """Keep each text about to be handed over on its row, so a reconcile after
    a crash or timeout can match it against the provider's records.

    The bodies are durable, in one commit, when this returns, so they are
    stored before the send. False for a row no longer ours to send.
    """
    store = _send_path.get().store_body

    def write() -> list[bool]:
        return [store.run(body, *claim_guard(m)).rowcount == 1 for m, body in bodies]

    stored = _group_commit.run(write)
    for (message, body), ours in zip(bodies, stored, strict=True):
        if ours:
            message.body = body
            message._dirty.discard("body")  # type: ignore[attr-defined]
    return stored


def provider_ids_sent_near(message: ScheduledMessage, since: datetime) -> set[str]:
    """The provider ids of the other texts recorded as sent to ``message``'s
    number since ``since``, whoever they were for (a family can share one
    mobile): when the provider is asked whether ``message`` went out, a text
    it lists under one of these ids is another of ours, not this one."""
    sharing = Patient.for_tenant(message.practice_id).where(
        Patient.phone == message.to_number
    )
    patients = {message.patient_id, *(p.id for p in sharing.select(Patient.id))}
    rows = (
        ScheduledMessage.for_tenant(message.practice_id)
        .select(ScheduledMessage.provider_sid)
        .where(
            ScheduledMessage.patient.in_(patients)
            & (ScheduledMessage.status == MessageStatus.SENT)
            & (ScheduledMessage.to_number == message.to_number)
            & (ScheduledMessage.sent_at >= since)
            & (ScheduledMessage.id != message.id)
        )
    )
    return {row.provider_sid for row in rows if row.provider_sid}
