"""The two Huey tasks: a wake-up per message, and the minute sweep.

They are plain functions registered on the queue by ``daemon.queue``; they
act through the runtime the daemon installs at start-up. A task carries only
a message id: the row in the store is the truth, so a stale or repeated task
does nothing.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from store.db import database

if TYPE_CHECKING:
    from daemon.helpers import Helpers
    from daemon.pipeline import Sender
    from daemon.queue import Queue

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the tasks act through, inside the daemon process."""

    sender: "Sender"
    queue: "Queue"
    version: str
    started_at: datetime
    pool: ThreadPoolExecutor
    helpers: "Helpers | None" = None
    # One sweep at a time: a slow one (a large backlog) must not overlap the
    # next minute's, which would only contend for the same rows.
    sweep_lock: threading.Lock = field(default_factory=threading.Lock)


_runtime: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def send_due_message(message_id: int) -> None:
    """Send the message if it is still pending and due; otherwise nothing."""
    runtime = _require_runtime()
    database.connect(reuse_if_open=True)
    outcome = runtime.sender.send_message(message_id)
    log.debug("Wake-up for message %s: %s", message_id, outcome)


def sweep_due_messages() -> None:
    """Send every due message of every practice, and record a heartbeat."""
    from daemon.sweep import sweep

    runtime = _require_runtime()
    if not runtime.sweep_lock.acquire(blocking=False):
        log.info("The previous sweep is still running; skipping this one")
        return

    try:
        database.connect(reuse_if_open=True)
        sweep(
            runtime.sender,
            version=runtime.version,
            arm=runtime.queue.wake_at,
            pool=runtime.pool,
            helpers=runtime.helpers,
            started_at=runtime.started_at,
        )
    finally:
        runtime.sweep_lock.release()


def _require_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError(
            "frontdesk tasks run only inside `frontdesk daemon`; this process "
            "has no sender installed."
        )
    return _runtime
