"""Helper processes that send a large backlog beside the sweep.

One process sends no faster than its CPU allows, and the twilio client alone
holds the interpreter for most of each request, so threads cannot add more.
When the sweep finds a large backlog it starts helpers: each is
``python -m daemon.helpers``, with its own database connection, gateway and
send threads, and the settings the daemon started with. A helper claims
batches exactly as the sweep does, so the claim decides who sends each row,
and it exits once nothing is due.

A helper lives and dies with the process that started it. SIGTERM stops it
the way it stops the daemon: texts in flight finish and are recorded, and
claimed ones not yet handed over go back to the queue. If its parent dies,
the helper dies at once too, as if it had crashed with it, so a daemon
restarted after a crash never races a stray helper. One that will not stop
is killed; what it held is reconciled like a crash's.
"""

# Only the standard library at the top: a helper must set its signal
# handlers before anything slow, or an early SIGTERM kills it outright.
import argparse
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.pipeline import StopSignal
    from daemon.sweep import SweepSummary
    from store.home import Home
    from store.settings import Settings

# Run as ``python -m daemon.helpers``, __name__ would be "__main__".
log = logging.getLogger("daemon.helpers")

# How often the parent looks at its helpers while it waits for them.
POLL = 0.05
# The longest a helper told to stop may take: below the daemon's own shutdown
# timeout, so a stopping daemon never leaves one behind.
STOP_GRACE = timedelta(seconds=15)
# Slack on top of the request timeout in the limits below.
SLACK = timedelta(seconds=5)
# Exit status of a helper that found its parent gone.
ORPHANED = 3


class Helpers:
    """Starts the helper processes for a practice, and collects what they
    sent. ``settings.sending.processes`` counts the daemon itself."""

    def __init__(
        self,
        home: "Home",
        settings: "Settings",
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self.settings = settings
        self.count = max(0, settings.sending.processes - 1)
        self.env = dict(os.environ if env is None else env)
        self._running: list[subprocess.Popen[bytes]] = []

    def start(self, practice_id: int) -> None:
        """Start the helpers, unless they are already running. A helper that
        cannot be started is logged; the sweep goes on without it."""
        if self._running or not self.count:
            return

        command = [sys.executable, "-m", "daemon.helpers", "--practice"]
        command += [str(practice_id), "--parent", str(os.getpid())]
        # Helpers log as much as the process that starts them.
        command += ["--log-level", str(logging.getLogger().getEffectiveLevel())]
        briefing = pickle.dumps((self.home, self.settings))
        for _ in range(self.count):
            try:
                helper = subprocess.Popen(
                    command,
                    env=_importable(self.env),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            except OSError as exc:
                log.error("Could not start a helper process (%s); sending without", exc)
                break

            # Kept even if the briefing fails, so that finish() reaps it.
            self._running.append(helper)
            assert helper.stdin is not None
            try:
                helper.stdin.write(briefing)
                helper.stdin.flush()
            except OSError as exc:
                log.error("Could not brief a helper process (%s)", exc)
        if self._running:
            log.info(
                "Backlog: %d helper processes started (pids %s)",
                len(self._running),
                ", ".join(str(helper.pid) for helper in self._running),
            )

    def finish(self, stopping: "StopSignal") -> Counter[str]:
        """Wait for every helper to exit; what they sent, by outcome.

        Called once the sweep has no more to claim itself, so the helpers
        have at most their last batch to send. They are told to stop when
        the daemon stops (a one-off sweep's helpers get no signal of their
        own), or when they are still at it two request timeouts later:
        stopping costs nothing then, as what they have not handed over goes
        back to the queue for the next sweep. One that does not stop within
        a request timeout (at most STOP_GRACE) is killed.
        """
        timeout = self.settings.sending.timeout
        work_limit = time.monotonic() + (2 * timeout + SLACK).total_seconds()
        grace = min(timeout + SLACK, STOP_GRACE).total_seconds()
        told_to_stop: float | None = None
        while self._alive():
            now = time.monotonic()
            if told_to_stop is None and (stopping.is_set() or now > work_limit):
                if not stopping.is_set():
                    log.warning("Helper processes are still sending; stopping them")
                self._signal(signal.SIGTERM)
                told_to_stop = now
            elif told_to_stop and now > told_to_stop + grace:
                for helper in self._alive():
                    log.error(
                        "Helper process %d did not stop; killed. The texts it "
                        "was sending will be reconciled",
                        helper.pid,
                    )
                self._signal(signal.SIGKILL)
                told_to_stop = float("inf")
            time.sleep(POLL)

        outcomes: Counter[str] = Counter()
        for helper in self._running:
            outcomes.update(_report_of(helper, stopped=told_to_stop is not None))
        self._running = []
        return outcomes

    def _alive(self) -> list["subprocess.Popen[bytes]"]:
        return [helper for helper in self._running if helper.poll() is None]

    def _signal(self, signum: int) -> None:
        for helper in self._alive():
            helper.send_signal(signum)


def _report_of(helper: "subprocess.Popen[bytes]", *, stopped: bool) -> Counter[str]:
    assert helper.stdin is not None and helper.stdout is not None
    helper.stdin.close()
    report = helper.stdout.read()
    helper.stdout.close()

    # A helper handles SIGTERM from its first line to its last; one that the
    # signal killed got it before it started or as it exited, with nothing
    # claimed either way.
    killed_by_our_stop = stopped and helper.returncode == -signal.SIGTERM
    if helper.returncode != 0 and not killed_by_our_stop:
        # What it claimed stays in sending; the reconciler settles it.
        log.error(
            "Helper process %d failed with exit status %d; the texts it was "
            "sending will be reconciled",
            helper.pid,
            helper.returncode,
        )
    try:
        return Counter(json.loads(report or b"{}"))
    except ValueError:
        log.error("Helper process %d sent an unreadable report", helper.pid)
        return Counter()


def _importable(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with this code on the path, however the parent found it."""
    code_root = str(Path(__file__).resolve().parents[1])
    paths = [code_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


class _Stop:
    """Set by SIGTERM or SIGINT; the send pipeline checks it before each text."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self, *_: object) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def _die_with_parent(parent: int, lifeline: int) -> None:
    """Exit at once when the parent is gone: its end of our stdin closes."""

    def watch() -> None:
        # The bare descriptor, not sys.stdin: a thread blocked inside a
        # buffered reader makes the interpreter abort as it exits.
        while os.read(lifeline, 4096):
            pass
        # NOTE: no clean-up on purpose. A restarted daemon may already be
        # reconciling; this process must not hand over one more text.
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
    if os.getppid() != parent:
        os._exit(ORPHANED)


def main(argv: list[str] | None = None) -> int:
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop.set)
    signal.signal(signal.SIGINT, stop.set)

    parser = argparse.ArgumentParser(prog="python -m daemon.helpers")
    parser.add_argument("--practice", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--log-level", type=int, default=logging.INFO)
    args = parser.parse_args(argv)

    home, settings = pickle.load(sys.stdin.buffer)
    _die_with_parent(args.parent, sys.stdin.fileno())

    from daemon.service import configure_logging

    configure_logging(args.log_level)
    summary = _drain(home, settings, args.practice, stop)
    if summary is None:
        return 2
    # stdout is the report channel to the parent; the log goes to stderr.
    sys.stdout.write(json.dumps(dict(summary.outcomes)) + "\n")
    sys.stdout.flush()
    return 0


def _drain(
    home: "Home", settings: "Settings", practice_id: int, stop: _Stop
) -> "SweepSummary | None":
    from concurrent.futures import ThreadPoolExecutor

    from daemon.gateways import build_gateway
    from daemon.pipeline import Sender
    from daemon.queue import connect_queue
    from daemon.sweep import SweepSummary, drain
    from store.db import open_database
    from store.models import Practice, utcnow

    open_database(home.database)
    practice = Practice.get_or_none(Practice.id == practice_id)
    if practice is None:
        log.error(
            "Helper %d: there is no practice %d to send for", os.getpid(), practice_id
        )
        return None

    # Texts this helper puts back (quiet hours, retries) get their wake-ups.
    connect_queue(home)
    gateway = build_gateway(settings, home)
    sender = Sender(settings, gateway, stopping=stop)
    summary = SweepSummary()
    pool = ThreadPoolExecutor(
        max_workers=settings.sending.concurrency, thread_name_prefix="send"
    )
    try:
        drain(sender, practice, summary, utcnow(), pool=pool)
    finally:
        pool.shutdown(wait=True)
        gateway.close()
    log.info("Helper %d done: %s", os.getpid(), summary)
    return summary


if __name__ == "__main__":
    sys.exit(main())
