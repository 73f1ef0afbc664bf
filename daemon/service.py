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

    Raises ConfigError when the gateway settings are unusable.
    """
    queue = connect_queue(desk.home)
    gateway = build_gateway(desk.settings, desk.home)
    sender = Sender(desk.settings, gateway)
    try:
        return sweep(
            sender, version=frontdesk_version(), arm=queue.wake_at, heartbeat=False
        )
    finally:
        gateway.close()


def hold_daemon_lock(home: Home) -> IO[str]:
    """Take the home's daemon lock for the life of this process.

    One daemon per home: a second would run the minute sweep twice and race
    the first for every row. The lock is a flock, so it goes with the process
    however it ends, a SIGKILL included.
    """
    home.ensure()
    handle = open(home.data_dir / "daemon.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise WrongState(
            f"Another frontdesk daemon (pid {holder}) is already sending for "
            f"{home.root or home.data_dir}; stop it first, or leave it running."
        ) from None

    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


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
            helpers=Helpers(desk.home, desk.settings.sending.processes - 1),
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
