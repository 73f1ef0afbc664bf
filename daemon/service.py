"""Running the daemon: the Huey consumer in the foreground, and one-off sweeps."""

import fcntl
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import IO

from daemon import tasks
from daemon.context import Desk
from daemon.gateways import build_gateway
from daemon.helpers import Helpers
from daemon.pipeline import Sender
from daemon.queue import connect_queue
from daemon.sweep import SweepSummary, sweep
from store.errors import WrongState
from store.home import Home
from store.models import utcnow

log = logging.getLogger(__name__)

WORKERS = 4
# Idle workers poll the queue at most this far apart; with the scheduler's
# one-second tick it bounds how late a wake-up can fire.
MAX_POLL_DELAY = 0.25
# Below the units' TimeoutStopSec=30, so a graceful stop always finishes.
SHUTDOWN_TIMEOUT = 20


def frontdesk_version() -> str:
    try:
        return version("frontdesk")
    except PackageNotFoundError:
        return "0+unknown"


def sweep_once(desk: Desk) -> SweepSummary:
    """Run one sweep now, in this process, and return what it did.

    Raises WrongState while a daemon serves the home: it sends what is due
    itself, and a second sender could take for lost a text the daemon has
    claimed and not yet handed over, and send it again. Raises ConfigError
    when the gateway settings are unusable.
    """
    lock = hold_daemon_lock(desk.home, role="sweep")
    try:
        queue = connect_queue(desk.home)
        gateway = build_gateway(desk.settings, desk.home)
        sender = Sender(desk.settings, gateway)
        try:
            return sweep(
                sender, version=frontdesk_version(), arm=queue.wake_at, heartbeat=False
            )
        finally:
            gateway.close()
    finally:
        lock.close()


def hold_daemon_lock(home: Home, *, role: str = "daemon") -> IO[str]:
    """Take the home's sender lock for the life of this process, or until the
    returned file is closed.

    One sender per home, ``role`` "daemon" or "sweep" (a one-off sweep from
    the command line): a second would take for lost the texts the first has
    claimed and not yet handed over, and send them again. The lock is a
    flock, so it goes with the process however it ends, a SIGKILL included.
    """
    home.ensure()
    handle = open(home.data_dir / "daemon.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder_pid, _, holder_role = handle.read().strip().partition(" ")
        handle.close()
        raise WrongState(_lock_refusal(home, role, holder_pid, holder_role)) from None

    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()} {role}")
    handle.flush()
    return handle


def _lock_refusal(home: Home, role: str, holder_pid: str, holder_role: str) -> str:
    where = home.root or home.data_dir
    holder = f"pid {holder_pid or 'unknown'}"
    if holder_role == "sweep":
        return (
            f"A one-off `frontdesk sweep` ({holder}) is sending for {where}; "
            "wait for it to finish, then try again."
        )
    if role == "sweep":
        return (
            f"The frontdesk daemon ({holder}) is running for {where} and sends "
            "what is due itself; `frontdesk sweep` is for when it is stopped."
        )
    return (
        f"Another frontdesk daemon ({holder}) is already sending for {where}; "
        "stop it first, or leave it running."
    )


def run_daemon(desk: Desk, *, workers: int = WORKERS) -> int:
    """Run the consumer until a stop signal; returns the exit status.

    SIGTERM (systemd's stop) is graceful: in-flight sends finish and are
    marked, claimed messages not yet handed over go back to the queue, and
    the process exits within SHUTDOWN_TIMEOUT seconds. SIGINT stops at once.
    Raises WrongState when another daemon already serves this home.
    """
    lock = hold_daemon_lock(desk.home)
    queue = connect_queue(desk.home)
    gateway = build_gateway(desk.settings, desk.home)
    consumer = queue.huey.create_consumer(
        workers=workers,
        periodic=True,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=MAX_POLL_DELAY,
        scheduler_interval=1,
        graceful_signal="TERM",
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        check_worker_health=True,
    )
    sender = Sender(desk.settings, gateway, stopping=consumer.stop_flag)
    pool = ThreadPoolExecutor(
        max_workers=desk.settings.sending.concurrency, thread_name_prefix="send"
    )
    tasks.install(
        tasks.Runtime(
            sender=sender,
            queue=queue,
            version=frontdesk_version(),
            started_at=utcnow(),
            pool=pool,
            helpers=Helpers(desk.home, desk.settings),
        )
    )

    log.info(
        "frontdesk daemon %s started (pid %d, gateway %s, %d workers)",
        frontdesk_version(),
        os.getpid(),
        gateway.name,
        workers,
    )
    # The consumer's scheduler enqueues the periodic sweep as it starts, so
    # whatever fell due while the daemon was down goes out at once.
    try:
        consumer.run()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        tasks.install(None)
        gateway.close()
        lock.close()
    log.info("frontdesk daemon stopped")
    return 0


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr, one line per record; journald adds its own timestamps."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The twilio client logs request URLs, which hold phone numbers.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    huey_log = logging.getLogger("huey")
    if not any(isinstance(f, RevokedIsRoutine) for f in huey_log.filters):
        huey_log.addFilter(RevokedIsRoutine())


class RevokedIsRoutine(logging.Filter):
    """Logs Huey's skipping of a revoked task at INFO, not WARNING.

    Every moved or cancelled message revokes its old wake-up, so the skip is
    routine here; at WARNING the journal would fill with warnings nobody
    needs to act on.
    """

    SKIPPED = "Task %s was revoked, not executing"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.msg == self.SKIPPED:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True
