"""The minute sweep: the safety net that sends whatever no wake-up sent.

It settles messages left in doubt, claims every due message of every
practice in batches, sends them through the shared pipeline, arms wake-ups
for what falls due before the next sweep, and records a heartbeat.
"""

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from daemon.pipeline import Outcome, Sender
from store.health import record_heartbeat
from store.lifecycle import claim_due, count_due, in_doubt
from store.models import MessageStatus, Practice, ScheduledMessage

if TYPE_CHECKING:
    from daemon.helpers import Helpers

log = logging.getLogger(__name__)

# Wake-ups are armed for messages due before the next sweep, so one whose
# task was lost (a deleted queue file, a row written by another tool) still
# goes out on time rather than up to a minute late.
ARM_AHEAD = timedelta(seconds=75)


@dataclass
class SweepSummary:
    """What one sweep did, for the log line, ``frontdesk sweep`` and status."""

    outcomes: Counter[str] = field(default_factory=Counter)
    reconciled: int = 0
    paused: str = ""

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def add(self, outcome: Outcome) -> None:
        self.outcomes[str(outcome)] += 1

    def as_dict(self) -> dict[str, Any]:
        counts = {str(o): self.outcomes.get(str(o), 0) for o in Outcome}
        counts.pop(str(Outcome.NOT_CLAIMED))
        return {
            "total": self.total,
            **counts,
            "reconciled": self.reconciled,
            "paused": self.paused,
        }

    def __str__(self) -> str:
        c = self.outcomes
        line = (
            f"total {self.total}, sent {c['sent']}, failed {c['failed']}, "
            f"expired {c['expired']}, deferred {c['deferred']}, "
            f"retrying {c['retrying']}, in doubt {c['in_doubt']}, "
            f"cancelled {c['cancelled']}, unknown {c['unknown']}, "
            f"reconciled {self.reconciled}"
        )
        if self.paused:
            line += f"; sending paused: {self.paused}"
        return line


def sweep(
    sender: Sender,
    *,
    version: str,
    arm: Any = None,
    pool: ThreadPoolExecutor | None = None,
    helpers: "Helpers | None" = None,
    started_at: datetime | None = None,
    heartbeat: bool = True,
) -> SweepSummary:
    """Run one sweep over every practice in the database.

    ``arm(message_id, due_at)`` is called for pending messages due before the
    next sweep; ``pool`` sends a batch concurrently (one at a time without);
    ``helpers`` start beside this process when a practice's backlog is large.
    Only the daemon records a ``heartbeat``: a one-off sweep from the command
    line must not make a stopped daemon look alive.
    """
    summary = SweepSummary()
    for practice in list(Practice.select().order_by(Practice.id)):
        sweep_practice(sender, practice, summary, arm=arm, pool=pool, helpers=helpers)
        summary.paused = (
            sender.pause.reason if sender.pause.active(sender.clock()) else ""
        )
        if not heartbeat:
            continue
        record_heartbeat(
            practice,
            version=version,
            gateway=sender.gateway.name,
            error=summary.paused,
            summary=summary.as_dict(),
            started_at=started_at,
            now=sender.clock(),
        )

    log.info("Sweep: %s", summary)
    return summary


def sweep_practice(
    sender: Sender,
    practice: Practice,
    summary: SweepSummary,
    *,
    arm: Any = None,
    pool: ThreadPoolExecutor | None = None,
    helpers: "Helpers | None" = None,
) -> None:
    now = sender.clock()
    cutoff = now - sender.settings.sending.reconcile_after
    for message in in_doubt(practice, cutoff):
        outcome = sender.reconcile(message)
        summary.reconciled += outcome is Outcome.SENT
        summary.add(outcome)

    # Rows the reconcile found never sent are due again now; take them too.
    now = sender.clock()
    batch_size = sender.settings.sending.sweep_batch

    def call_for_help() -> None:
        if helpers is None:
            return
        try:
            if count_due(practice, now) >= 2 * batch_size:
                helpers.start(practice.id)
        except Exception:
            # The batch in hand is claimed: send it, with help or without.
            log.exception("Could not start helper processes; sending without")

    try:
        drain(sender, practice, summary, now, pool=pool, after_first=call_for_help)
    finally:
        if helpers is not None:
            summary.outcomes.update(helpers.finish(sender.stopping))

    if arm is not None:
        _arm_wakeups(practice, now, arm)


def drain(
    sender: Sender,
    practice: Practice,
    summary: SweepSummary,
    now: datetime,
    *,
    pool: ThreadPoolExecutor | None = None,
    after_first: Callable[[], None] | None = None,
) -> None:
    """Claim and send batches of the practice's messages due by ``now`` until
    none are left, sending stops, or it is paused.

    ``after_first`` runs once the first batch has come back full, before it
    is sent: a sign the backlog may be large.
    """
    batch_size = sender.settings.sending.sweep_batch
    while not sender.stopping.is_set() and not sender.pause.active(sender.clock()):
        batch = claim_due(practice, now, limit=batch_size)
        if not batch:
            break
        if after_first is not None and len(batch) == batch_size:
            after_first()
        after_first = None

        for outcome in sender.process_batch(batch, pool):
            summary.add(outcome)
        if len(batch) < batch_size:
            break


def _arm_wakeups(practice: Practice, now: datetime, arm: Any) -> None:
    upcoming = (
        ScheduledMessage.for_tenant(practice)
        .select(ScheduledMessage.id, ScheduledMessage.due_at)
        .where(
            (ScheduledMessage.status == MessageStatus.PENDING)
            & (ScheduledMessage.due_at > now)
            & (ScheduledMessage.due_at <= now + ARM_AHEAD)
        )
    )
    for row in upcoming:
        arm(row.id, row.due_at)
