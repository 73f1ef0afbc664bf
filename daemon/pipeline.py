"""The send pipeline: every text leaves through ``Sender.process``.

Both ways a message goes out (its ETA task, and the minute sweep) claim the
row first and then run the same checks against the data as it is at send
time: consent, staleness, quiet hours. Only then does the gateway see it.
"""

import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from daemon.checks import (
    LOOKUP_SLICE,
    RECHECK_AFTER,
    Lookups,
    Outcome,
    Prepared,
    SendChecks,
)
from daemon.gateways import Accepted, ErrorKind, Gateway, GatewayError, Outgoing
from store.audit import SYSTEM_ACTOR
from store.consent import current_consent, revoke_consent
from store.db import database
from store.deliveries import (
    Delivery,
    provider_ids_sent_near,
    record_deliveries,
    store_bodies,
)
from store.health import note_problem
from store.lifecycle import (
    claim_message,
    defer_message,
    mark_failed,
    mark_unknown,
    note_in_doubt,
    release_for_retry,
)
from store.models import (
    ConsentSource,
    Practice,
    ScheduledMessage,
    utcnow,
)
from store.settings import Settings
from store.sms import sms_segments

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long sending stays paused after the provider refused our credentials;
# then one message tries again, so a fixed token resumes sending by itself.
AUTH_PAUSE = timedelta(seconds=60)


class StopSignal(Protocol):
    """A stop flag: a threading.Event, or a multiprocessing one in a child."""

    def is_set(self) -> bool: ...


@dataclass
class PauseState:
    """Why sending is paused, if it is; shared by every worker thread."""

    until: datetime | None = None
    reason: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def active(self, now: datetime) -> bool:
        with self.lock:
            return self.until is not None and now < self.until

    def set(self, reason: str, now: datetime) -> None:
        with self.lock:
            self.until = now + AUTH_PAUSE
            self.reason = reason

    def clear(self) -> None:
        with self.lock:
            self.until = None
            self.reason = ""


class Sender:
    """Runs the pipeline for one database and one gateway.

    Thread-safe: the consumer's workers and the sweep's pool share one Sender.
    """

    def __init__(
        self,
        settings: Settings,
        gateway: Gateway,
        *,
        clock=utcnow,  # type: ignore[no-untyped-def]
        stopping: StopSignal | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.clock = clock
        self.pause = PauseState()
        self.stopping: StopSignal = stopping or threading.Event()
        self._practices: dict[int, Practice] = {}
        self._practices_lock = threading.Lock()
        self.checks = SendChecks(settings, self.practice)

    def send_message(self, message_id: int) -> Outcome:
        """Claim one message and send it if it is still pending and due.

        What an ETA task calls. A stale task (the row moved, was cancelled or
        already sent) claims nothing and does nothing.
        """
        now = self.clock()
        if self.pause.active(now):
            return Outcome.PAUSED

        message = claim_message(message_id, now)
        if message is None:
            log.debug(
                "Message %s was not due or not pending; nothing to do", message_id
            )
            return Outcome.NOT_CLAIMED
        return self.process(message)

    def process(
        self, message: ScheduledMessage, lookups: Lookups | None = None
    ) -> Outcome:
        """Check a claimed message against the data as it is now, then send it.

        ``lookups`` holds consents and appointments just read for its slice;
        without it the checks read them for this message alone. Every path
        settles the row: sent, failed, expired, cancelled, back to pending,
        or left in sending for the reconciler when the provider may have it.
        """
        return self._process_slice([message], lookups, None)[0]

    def process_batch(
        self, messages: Sequence[ScheduledMessage], pool: Executor | None = None
    ) -> list[Outcome]:
        """``process`` every claimed message of a batch, on ``pool`` if given.

        The checks' reads are made for LOOKUP_SLICE messages at a time, just
        before that slice goes out, so they stay a fraction of a second old.
        """
        outcomes: list[Outcome] = []
        for start in range(0, len(messages), LOOKUP_SLICE):
            chunk = messages[start : start + LOOKUP_SLICE]
            outcomes += self._process_slice(chunk, self.checks.look_up(chunk), pool)
        return outcomes

    def _process_slice(
        self,
        messages: Sequence[ScheduledMessage],
        lookups: Lookups | None,
        pool: Executor | None,
    ) -> list[Outcome]:
        """Check each message, store the bodies about to go out in one commit,
        hand them over (concurrently on ``pool``), then record every text the
        provider accepted in one commit.

        A write that fails leaves its rows in sending; the reconciler then
        asks the provider before anything is sent again.
        """
        outcomes: list[Outcome | None] = [None] * len(messages)
        now = self.clock()

        ready: list[tuple[int, Prepared]] = []
        for index, message in enumerate(messages):
            checked = _unless_crashed(message, self._check, message, lookups, now)
            if isinstance(checked, Prepared):
                ready.append((index, checked))
            else:
                outcomes[index] = checked

        ready = self._store_bodies(ready, outcomes)

        prepared = [p for _, p in ready]
        if pool is None or len(prepared) < 2:
            answers = [self._hand_over(p) for p in prepared]
        else:
            answers = list(pool.map(_in_connection(self._hand_over), prepared))

        accepted: list[tuple[int, Prepared, Accepted]] = []
        for (index, p), answer in zip(ready, answers, strict=True):
            if isinstance(answer, Accepted):
                accepted.append((index, p, answer))
            else:
                outcomes[index] = answer
        for index, outcome in self._record(accepted):
            outcomes[index] = outcome

        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def _check(
        self, message: ScheduledMessage, lookups: Lookups | None, now: datetime
    ) -> Prepared | Outcome:
        practice = self.practice(message.practice_id)
        return self.checks.prepare(message, practice, now, lookups)

    def _store_bodies(
        self,
        ready: list[tuple[int, Prepared]],
        outcomes: list[Outcome | None],
    ) -> list[tuple[int, Prepared]]:
        """Store the rendered bodies that differ from the rows'; what is still
        ours to send."""
        changed = [(i, p) for i, p in ready if p.message.body != p.body]
        if not changed:
            return ready

        try:
            stored = store_bodies([(p.message, p.body) for _, p in changed])
        except Exception:
            log.exception("Could not store the texts of %d messages", len(changed))
            for index, _ in changed:
                outcomes[index] = Outcome.IN_DOUBT
            lost = {index for index, _ in changed}
        else:
            lost = {i for (i, _), ours in zip(changed, stored, strict=True) if not ours}
            for index in lost:
                outcomes[index] = Outcome.NOT_CLAIMED
        return [(i, p) for i, p in ready if i not in lost]

    def _hand_over(self, prepared: Prepared) -> Accepted | Outcome:
        """Send one checked message unless the daemon is stopping or sending is
        paused; the provider's acceptance, or how the row was settled."""
        return _unless_crashed(prepared.message, self._try_send, prepared)

    def _try_send(self, prepared: Prepared) -> Accepted | Outcome:
        message = prepared.message
        now = self.clock()
        if self.stopping.is_set():
            defer_message(message, now, "The daemon was stopping.", now=now)
            return Outcome.DEFERRED
        if self.pause.active(now):
            # Another worker learnt the credentials are refused; sending this
            # one would only be refused too.
            until = self.pause.until or now
            defer_message(message, until, self.pause.reason, now=now)
            return Outcome.PAUSED

        # The slice's checks ran before its first text went; a slow provider
        # may have let consent be withdrawn, the visit be cancelled, quiet
        # hours begin, or the appointment start, since.
        checked_at = prepared.checked_at
        # A clock stepped back counts as late too: its "ago" cannot be trusted.
        if checked_at is None or not timedelta(0) <= now - checked_at <= RECHECK_AFTER:
            verdict = self.checks.recheck(prepared, now)
            if verdict is not None:
                return verdict
        if prepared.appointment is not None:
            verdict = self.checks.check_started(message, prepared.appointment, now)
            if verdict is not None:
                return verdict
        verdict = self.checks.check_clock(
            message, prepared.appointment, prepared.practice, now
        )
        if verdict is not None:
            return verdict

        outgoing = Outgoing(
            message_id=message.id,
            to=message.to_number,
            body=prepared.body,
            claimed_at=message.claimed_at or now,
        )
        try:
            accepted = self.gateway.send(outgoing)
        except GatewayError as exc:
            return self._handle_error(prepared, exc)

        self.pause.clear()
        return accepted

    def _record(
        self, accepted: list[tuple[int, Prepared, Accepted]]
    ) -> list[tuple[int, Outcome]]:
        """Record what the provider accepted; the outcome for each index."""
        if not accepted:
            return []

        deliveries = []
        for _, prepared, answer in accepted:
            info = sms_segments(prepared.body)
            deliveries.append(
                Delivery(
                    prepared.message,
                    body=prepared.body,
                    provider_sid=answer.provider_sid,
                    segments=answer.segments or info.segments,
                    encoding=info.encoding,
                    gateway=answer.gateway,
                    consent=prepared.consent_id,
                )
            )
        try:
            recorded = record_deliveries(deliveries, now=self.clock())
        except Exception:
            # The provider has these texts; the reconciler finds them there.
            log.exception("Could not record %d texts as sent", len(accepted))
            return [(index, Outcome.IN_DOUBT) for index, _, _ in accepted]

        outcomes = []
        for (index, prepared, answer), sent in zip(accepted, recorded, strict=True):
            if sent is None:
                log.warning(
                    "Message %s was accepted as %s but another worker had settled it",
                    prepared.message.id,
                    answer.provider_sid,
                )
            else:
                log.info(
                    "Message %s sent via %s as %s",
                    prepared.message.id,
                    answer.gateway,
                    answer.provider_sid,
                )
            outcomes.append((index, Outcome.SENT))
        return outcomes

    def _handle_error(self, prepared: Prepared, exc: GatewayError) -> Outcome:
        message = prepared.message
        now = self.clock()
        code = str(exc.code or exc.status or exc.kind.value)

        if exc.kind is ErrorKind.AUTH:
            self.pause.set(str(exc), now)
            defer_message(message, now + AUTH_PAUSE, str(exc), now=now)
            # Shown at once by status and the screens, not at the next sweep.
            note_problem(message.practice_id, str(exc), now=now)
            log.error("Sending paused: the provider refused the credentials (%s)", code)
            return Outcome.PAUSED

        if exc.kind is ErrorKind.AMBIGUOUS:
            note_in_doubt(message, code, str(exc), now=now)
            log.warning(
                "Message %s may or may not have been accepted (%s); it will be "
                "reconciled before any resend",
                message.id,
                code,
            )
            return Outcome.IN_DOUBT

        if exc.kind is ErrorKind.RETRY:
            return self._retry_later(message, code, str(exc), now)

        mark_failed(message, code, str(exc), now=now)
        log.warning("Message %s failed: %s", message.id, code)
        if exc.kind is ErrorKind.OPTED_OUT:
            self._record_opt_out(message, now)
        return Outcome.FAILED

    def _retry_later(
        self, message: ScheduledMessage, code: str, error: str, now: datetime
    ) -> Outcome:
        limit = self.settings.sending.max_attempts
        if message.attempts >= limit:
            reason = f"Gave up after {message.attempts} attempts: {error}"
            mark_failed(message, code, reason, now=now)
            log.warning("Message %s failed after %d attempts", message.id, limit)
            return Outcome.FAILED

        due_at = now + self.backoff(message.attempts)
        release_for_retry(message, due_at, code, error, now=now)
        log.warning(
            "Message %s will be retried at %s (attempt %d of %d failed: %s)",
            message.id,
            due_at.isoformat(timespec="seconds"),
            message.attempts,
            limit,
            code,
        )
        return Outcome.RETRYING

    def backoff(self, attempts: int) -> timedelta:
        """The wait before the next try: the first backoff, doubling, with up
        to a fifth more at random so a crowd of retries spreads out."""
        base = self.settings.sending.retry_backoff * (2 ** max(attempts - 1, 0))
        return base * (1 + random.uniform(0, 0.2))

    def _record_opt_out(self, message: ScheduledMessage, now: datetime) -> None:
        practice = self.practice(message.practice_id)
        revoke_consent(
            practice,
            message.patient_id,
            source=ConsentSource.CARRIER_OPT_OUT,
            actor=SYSTEM_ACTOR,
            settings=self.settings,
            note=f"The carrier reported an opt-out when message {message.id} was "
            "sent (the patient replied STOP).",
            now=now,
        )
        log.warning(
            "Patient %s has opted out at the carrier; consent revoked",
            message.patient_id,
        )

    def practice(self, practice_id: int) -> Practice:
        with self._practices_lock:
            cached = self._practices.get(practice_id)
        if cached is not None:
            return cached

        practice = Practice.get_by_id(practice_id)
        with self._practices_lock:
            self._practices[practice_id] = practice
        return practice

    def reconcile(self, message: ScheduledMessage) -> Outcome:
        """Settle a message left in sending: ask the provider whether it has it.

        Found: it is marked sent with the provider's id. Surely absent: it goes
        back to the queue. No answer for long enough: staff decide (unknown).
        """
        now = self.clock()
        claimed_at = message.claimed_at or now
        try:
            # Texts to this number already recorded under a provider id; a day
            # back is far more than the window the provider is asked about.
            others = provider_ids_sent_near(message, claimed_at - timedelta(days=1))
            found = self.gateway.find_sent(
                message.to_number, claimed_at, message.body, message.id, others
            )
        except GatewayError as exc:
            return self._unanswered(message, exc, now)

        if found is not None:
            consent = current_consent(message.patient_id)
            prepared = Prepared(
                message,
                message.body,
                consent.id if consent else None,
                self.practice(message.practice_id),
            )
            [(_, outcome)] = self._record([(0, prepared, found)])
            if outcome is Outcome.SENT:
                log.info("Message %s reconciled: the provider had it", message.id)
            return outcome

        if not message.last_error_code:
            # No answer was ever recorded: the daemon stopped between claim and
            # send, so the provider never saw it. Send it now, as if unclaimed.
            defer_message(message, now, "Resent after an interrupted send.", now=now)
            log.info("Message %s was never handed over; back in the queue", message.id)
            return Outcome.DEFERRED

        return self._retry_later(
            message,
            "reconciled",
            "The provider had no record of it; it will be sent again.",
            now,
        )

    def _unanswered(
        self, message: ScheduledMessage, exc: GatewayError, now: datetime
    ) -> Outcome:
        if now - (message.claimed_at or now) < self.settings.sending.give_up_after:
            note_in_doubt(message, str(exc.code or "in_doubt"), str(exc), now=now)
            return Outcome.IN_DOUBT

        reason = (
            "Unknown outcome: the provider could not say whether this text went "
            f"out ({exc}). Check with the patient, then retry or cancel it."
        )
        mark_unknown(message, reason, now=now)
        log.error("Message %s has an unknown outcome; staff must decide", message.id)
        return Outcome.UNKNOWN


def _unless_crashed(
    message: ScheduledMessage, step: Callable[..., T], *args: object
) -> T | Outcome:
    try:
        return step(*args)
    except Exception:
        # The row stays in sending; the reconciler settles it without
        # risking a second text.
        log.exception("Unexpected error while sending message %s", message.id)
        return Outcome.IN_DOUBT


def _in_connection(fn: Callable[..., T]) -> Callable[..., T]:
    def run(*args: object) -> T:
        # Pool threads outlive the sweep; each keeps its own connection open
        # rather than paying a connect for every message.
        database.connect(reuse_if_open=True)
        return fn(*args)

    return run
