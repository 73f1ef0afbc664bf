"""Helper processes that send a large backlog beside the sweep.

One process sends no faster than its CPU allows, and the twilio client alone
holds the interpreter for most of each request, so threads cannot add more.
When the sweep finds a large backlog it starts helpers: each is
``python -m daemon.helpers``, with its own database connection, gateway and
send threads. A helper claims batches exactly as the sweep does, so the claim
decides who sends each row, and it exits once nothing is due.

A helper lives and dies with the process that started it. SIGTERM stops it
the way it stops the daemon: texts in flight finish and are recorded, and
claimed ones not yet handed over go back to the queue. If its parent dies,
the helper dies at once too, as if it had crashed with it, so a daemon
restarted after a crash never races a stray helper.
"""

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

from daemon.pipeline import StopSignal
from store.home import Home

if TYPE_CHECKING:
    from daemon.sweep import SweepSummary

log = logging.getLogger(__name__)

# How often the parent looks at its helpers while it waits for them.
POLL = 0.05


class Helpers:
    """Starts up to ``count`` helper processes for a practice, and collects
    what they sent."""

    def __init__(
        self, home: Home, count: int, *, env: Mapping[str, str] | None = None
    ) -> None:
        self.home = home
        self.count = max(0, count)
        self.env = dict(os.environ if env is None else env)
        self._running: list[subprocess.Popen[str]] = []

    def start(self, practice_id: int) -> None:
        """Start the helpers, unless they are already running."""
        if self._running or not self.count:
            return

        command = [sys.executable, "-m", "daemon.helpers", "--practice"]
        command += [str(practice_id), "--parent", str(os.getpid())]
        # Helpers log as much as the process that starts them.
        command += ["--log-level", str(logging.getLogger().getEffectiveLevel())]
        if self.home.root is not None:
            command += ["--home", str(self.home.root)]
        for _ in range(self.count):
            self._running.append(
                subprocess.Popen(
                    command,
                    env=_importable(self.env),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        log.info("Backlog: %d helper processes started to send it", self.count)

    def finish(self, stopping: StopSignal) -> Counter[str]:
        """Wait for every helper to exit; what they sent, by outcome.

        Passes a stop on to them: a helper started by a one-off sweep gets no
        signal of its own when its parent is told to stop.
        """
        outcomes: Counter[str] = Counter()
        told_to_stop = False
        while any(p.poll() is None for p in self._running):
            if stopping.is_set() and not told_to_stop:
                for process in self._running:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
                told_to_stop = True
            time.sleep(POLL)

        for process in self._running:
            outcomes.update(_report_of(process))
        self._running = []
        return outcomes


def _report_of(process: "subprocess.Popen[str]") -> Counter[str]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    report = process.stdout.read()
    process.stdout.close()
    if process.returncode != 0:
        # Its claimed rows stay in sending; the reconciler settles them.
        log.error(
            "A helper process (pid %d) failed with exit status %d; the texts "
            "it was sending will be reconciled",
            process.pid,
            process.returncode,
        )
    try:
        return Counter(json.loads(report or "{}"))
    except ValueError:
        log.error("A helper process (pid %d) sent an unreadable report", process.pid)
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


def _die_with_parent(parent: int, lifeline: IO[str]) -> None:
    """Exit at once when the parent is gone: its end of our stdin closes."""

    def watch() -> None:
        lifeline.read()
        # NOTE: no clean-up on purpose. A restarted daemon may already be
        # reconciling; this process must not hand over one more text.
        os._exit(3)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
    if os.getppid() != parent:
        os._exit(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.helpers")
    parser.add_argument("--practice", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--home")
    parser.add_argument("--log-level", type=int, default=logging.INFO)
    args = parser.parse_args(argv)

    _die_with_parent(args.parent, sys.stdin)
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop.set)
    signal.signal(signal.SIGINT, stop.set)

    from daemon.service import configure_logging

    configure_logging(args.log_level)
    summary = _drain(args.home, args.practice, stop)
    print(json.dumps(dict(summary.outcomes)), flush=True)
    return 0


def _drain(home: str | None, practice_id: int, stop: _Stop) -> "SweepSummary":
    from daemon.context import open_desk
    from daemon.gateways import build_gateway
    from daemon.pipeline import Sender
    from daemon.queue import connect_queue
    from daemon.sweep import SweepSummary, drain
    from store.models import Practice, utcnow

    desk = open_desk(home)
    # Texts this helper puts back (quiet hours, retries) get their wake-ups.
    connect_queue(desk.home)
    gateway = build_gateway(desk.settings, desk.home)
    sender = Sender(desk.settings, gateway, stopping=stop)
    summary = SweepSummary()
    pool = ThreadPoolExecutor(
        max_workers=desk.settings.sending.concurrency, thread_name_prefix="send"
    )
    try:
        practice = Practice.get_by_id(practice_id)
        drain(sender, practice, summary, utcnow(), pool=pool)
    finally:
        pool.shutdown(wait=True)
        gateway.close()
    log.info("Helper %d done: %s", os.getpid(), summary)
    return summary


if __name__ == "__main__":
    sys.exit(main())
