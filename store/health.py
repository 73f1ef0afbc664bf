"""The daemon's heartbeat: what the TUI and ``frontdesk status`` report on."""

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from store.models import Heartbeat, Practice, utcnow

# Past this, the daemon is taken to be down: the sweep runs every minute.
STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class DaemonHealth:
    last_sweep_at: datetime | None
    version: str
    gateway: str
    error: str
    summary: dict[str, Any]
    started_at: datetime | None

    def sweep_age(self, now: datetime | None = None) -> timedelta | None:
        if self.last_sweep_at is None:
            return None
        return (now or utcnow()) - self.last_sweep_at

    def is_stale(self, now: datetime | None = None) -> bool:
        """True when no sweep has run for over two minutes, or ever."""
        age = self.sweep_age(now)
        return age is None or age > STALE_AFTER


def record_heartbeat(
    practice: Practice | int,
    *,
    version: str,
    gateway: str,
    error: str = "",
    summary: dict[str, Any] | None = None,
    started_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Record that the daemon swept the practice now, and what is wrong if
    anything."""
    now = now or utcnow()
    fields = {
        Heartbeat.last_sweep_at: now,
        Heartbeat.version: version,
        Heartbeat.gateway: gateway,
        Heartbeat.error: error,
        Heartbeat.summary: json.dumps(summary or {}, sort_keys=True),
        Heartbeat.pid: os.getpid(),
        Heartbeat.started_at: started_at,
    }
    updated = Heartbeat.update(fields).where(Heartbeat.practice == practice).execute()
    if not updated:
        Heartbeat.insert({Heartbeat.practice: practice, **fields}).on_conflict(
            conflict_target=[Heartbeat.practice], update=fields
        ).execute()


def note_problem(
    practice: Practice | int, error: str, *, now: datetime | None = None
) -> None:
    """Record what is wrong now, between sweeps, keeping the rest of the
    heartbeat as the last sweep left it."""
    updated = (
        Heartbeat.update(error=error).where(Heartbeat.practice == practice).execute()
    )
    if not updated:
        Heartbeat.insert(
            practice=practice, error=error, started_at=now or utcnow()
        ).on_conflict(
            conflict_target=[Heartbeat.practice], update={Heartbeat.error: error}
        ).execute()


def read_health(practice: Practice | int) -> DaemonHealth:
    """The last heartbeat, or an empty one when the daemon has never run."""
    row = Heartbeat.for_tenant(practice).first()
    if row is None:
        return DaemonHealth(None, "", "", "", {}, None)
    return DaemonHealth(
        last_sweep_at=row.last_sweep_at,
        version=row.version,
        gateway=row.gateway,
        error=row.error,
        summary=json.loads(row.summary or "{}"),
        started_at=row.started_at,
    )
