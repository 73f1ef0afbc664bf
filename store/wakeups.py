"""The wake-up seam: how the store tells a task queue that a message moved.

The store cannot import the daemon, so the daemon installs a hook here. Calls
are deferred until the surrounding transaction commits, so a task never wakes
for a row that was rolled back. With no hook installed they do nothing: the
daemon's minute sweep still finds every due row.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from store.db import database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wakeup:
    """A pending message now due at ``due_at`` (None: it is no longer pending).

    ``previous_due_at`` is when an earlier wake-up for it was due, if any, so the
    hook can revoke the stale one.
    """

    message_id: int
    due_at: datetime | None
    previous_due_at: datetime | None = None


Hook = Callable[[Wakeup], None]

_hook: Hook | None = None


def set_hook(hook: Hook | None) -> None:
    """Install (or with None, remove) the function that schedules wake-ups."""
    global _hook
    _hook = hook


def notify(
    message_id: int, due_at: datetime | None, previous_due_at: datetime | None = None
) -> None:
    """Ask for a wake-up once the current transaction commits."""
    if _hook is None:
        return

    wakeup = Wakeup(message_id, due_at, previous_due_at)
    database.after_commit(lambda: _deliver(wakeup))


def _deliver(wakeup: Wakeup) -> None:
    hook = _hook
    if hook is None:
        return

    # A wake-up is an optimisation: the sweep finds the row anyway, so a queue
    # that cannot be reached must not undo the staff's change.
    try:
        hook(wakeup)
    except Exception:
        log.exception("Could not schedule a wake-up for message %s", wakeup.message_id)
