"""The task queue: where Huey lives, and how the store's wake-ups reach it.

One place builds the Huey instance, so the storage can change (a SqliteHuey
file in the home today, Redis when several hosts share a queue) without the
tasks or the callers noticing. Huey keeps nothing we rely on: a lost queue
only delays a message until the minute sweep finds it.
"""

import logging
import os
from datetime import UTC, datetime

from huey import Huey, SqliteHuey, crontab

from store import wakeups
from store.home import Home

log = logging.getLogger(__name__)

QUEUE_NAME = "frontdesk"
QUEUE_URL_ENV = "FRONTDESK_QUEUE_URL"


class Queue:
    """The Huey instance with frontdesk's two tasks registered on it."""

    def __init__(self, huey: Huey) -> None:
        from daemon import tasks

        self.huey = huey
        self.send_due_message = huey.task(name="send_due_message")(
            tasks.send_due_message
        )
        self.sweep_due_messages = huey.periodic_task(
            crontab(minute="*"), name="sweep_due_messages"
        )(tasks.sweep_due_messages)

    def wake_at(self, message_id: int, due_at: datetime) -> None:
        """Enqueue the ETA task that sends the message at ``due_at``."""
        self.send_due_message.schedule(
            args=(message_id,),
            eta=due_at.astimezone(UTC),
            id=task_id(message_id, due_at),
        )

    def forget(self, message_id: int, due_at: datetime) -> None:
        """Revoke the ETA task for that time, if one was enqueued.

        revoke_once clears the mark when the task is skipped, so it cannot
        swallow a later task with the same id.
        """
        self.huey.revoke_by_id(task_id(message_id, due_at), revoke_once=True)

    def on_wakeup(self, wakeup: wakeups.Wakeup) -> None:
        if wakeup.previous_due_at is not None:
            self.forget(wakeup.message_id, wakeup.previous_due_at)
        if wakeup.due_at is not None:
            self.wake_at(wakeup.message_id, wakeup.due_at)


def task_id(message_id: int, due_at: datetime) -> str:
    """One id per message and due time, so a moved message can revoke its old
    wake-up without touching the new one."""
    return f"send-{message_id}-{int(due_at.timestamp() * 1000)}"


def build_huey(home: Home, *, url: str | None = None) -> Huey:
    """The Huey storage for this home: ``url`` (or FRONTDESK_QUEUE_URL) when
    set, else a SqliteHuey file beside the database.

    Huey is told to work in UTC; every ETA handed to it is an aware UTC
    instant, because it reads a naive one as the server's local time.
    """
    url = url or os.environ.get(QUEUE_URL_ENV)
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        from huey import RedisHuey

        return RedisHuey(QUEUE_NAME, url=url, results=False, utc=True)

    home.ensure()
    return SqliteHuey(
        QUEUE_NAME,
        filename=str(home.queue),
        results=False,
        utc=True,
        timeout=30,
        fsync=True,
    )


def connect_queue(home: Home) -> Queue:
    """Build the queue and route the store's wake-ups to it."""
    queue = Queue(build_huey(home))
    wakeups.set_hook(queue.on_wakeup)
    return queue
