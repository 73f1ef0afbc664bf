"""Helper processes: a large backlog sent by the daemon and the helpers it
starts, every text once, through stops and crashes."""

import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import wakeups
from store.home import resolve_home
from store.messages import schedule_message
from store.models import MessageStatus, ScheduledMessage, utcnow
from store.settings import Settings
from tests.daemon.daemon_process import (
    REPO,
    context,
    daemon_env,
    start_daemon,
    stop_daemon,
    wait_for_status,
)

# Batches of 10, so a backlog of a few hundred counts as large.
SMALL_BATCHES = """
sweep_batch = 10
processes = 3
concurrency = 2
reconcile_after = "10s"
"""


def backlog(home_path: Path, count: int, label: str) -> list[int]:
    practice, patient, settings = context(home_path)
    # Only the sweep, so the whole backlog is there when it runs.
    wakeups.set_hook(None)
    return [
        schedule_message(
            practice,
            patient_id=patient.id,
            body=f"{label} {i:03d}",
            at=utcnow(),
            actor="test",
            settings=settings,
        ).id
        for i in range(count)
    ]


def helper_reports(log: Path) -> list[int]:
    """How many texts each helper said it sent, from the daemon's log."""
    reports = re.findall(r"Helper \d+ done: total \d+, sent (\d+)", log.read_text())
    return [int(sent) for sent in reports]


def assert_sent_once(
    fake_twilio, ids: list[int], *, settled: bool = True
) -> list[ScheduledMessage]:
    """Nothing reached Twilio twice, and every row marked sent did reach it;
    ``settled``: nothing is left in sending either."""
    bodies = [m.body for m in fake_twilio.messages]
    assert len(bodies) == len(set(bodies)), "a text reached Twilio twice"
    rows = list(ScheduledMessage.select().where(ScheduledMessage.id.in_(ids)))
    assert {r.body for r in rows if r.status == MessageStatus.SENT} <= set(bodies)
    if settled:
        assert {r.body for r in rows if r.status == MessageStatus.SENT} == set(bodies)
        assert not [r.id for r in rows if r.status == MessageStatus.SENDING]
    return rows


@pytest.mark.config(sending=SMALL_BATCHES)
def test_helpers_share_a_large_backlog_and_send_each_text_once(home, fake_twilio):
    ids = backlog(home, 300, "Backlog text")
    # Each answer takes a moment, so the backlog outlasts a helper's start.
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.02

    daemon = start_daemon(home)
    try:
        wait_for_status(ids, {MessageStatus.SENT}, timeout=60)
        deadline = time.monotonic() + 10
        while len(helper_reports(home / "daemon.log")) < 2:
            assert time.monotonic() < deadline, "the helpers never reported"
            time.sleep(0.05)
    finally:
        assert stop_daemon(daemon) == 0

    assert_sent_once(fake_twilio, ids)
    assert len(fake_twilio.messages) == 300
    log = (home / "daemon.log").read_text()
    assert "2 helper processes started" in log
    assert sum(helper_reports(home / "daemon.log")) > 0
    assert "exit status" not in log
    assert "Traceback" not in log


@pytest.mark.config(sending=SMALL_BATCHES)
def test_sigterm_to_the_daemon_stops_its_helpers_gracefully(home, fake_twilio):
    ids = backlog(home, 400, "Evening text")
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.1

    daemon = start_daemon(home)
    wait_for_log(home / "daemon.log", "helper processes started")
    time.sleep(1.5)  # long enough for the helpers to be sending too
    code = stop_daemon(daemon, signal.SIGTERM)

    assert code == 0
    rows = assert_sent_once(fake_twilio, ids)
    assert any(r.status == MessageStatus.PENDING for r in rows)
    assert sum(helper_reports(home / "daemon.log")) > 0


@pytest.mark.config(sending=SMALL_BATCHES)
def test_helpers_die_with_a_killed_daemon_and_the_restart_sends_the_rest_once(
    home, fake_twilio
):
    ids = backlog(home, 400, "Crash text")
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.05

    daemon = start_daemon(home)
    wait_for_log(home / "daemon.log", "helper processes started")
    time.sleep(1.5)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    killed_at = time.monotonic()

    # Nothing is handed over once the daemon is gone: no helper outlives it.
    time.sleep(0.5)
    seen = len(fake_twilio.messages)
    time.sleep(1.0)
    assert len(fake_twilio.messages) == seen
    assert seen < 400

    # Restart once the in-doubt rows are old enough to be reconciled.
    fake_twilio.set_fault_rate("slow", 0.0)
    time.sleep(max(0.0, 11 - (time.monotonic() - killed_at)))
    daemon = start_daemon(home, log_name="daemon-restarted.log")
    try:
        wait_for_status(ids, {MessageStatus.SENT, MessageStatus.UNKNOWN}, timeout=60)
    finally:
        assert stop_daemon(daemon) == 0
    rows = assert_sent_once(fake_twilio, ids)
    assert all(r.status == MessageStatus.SENT for r in rows)


@pytest.mark.config(sending=SMALL_BATCHES)
def test_a_helper_that_hangs_is_killed_and_the_sweep_goes_on(home, fake_twilio):
    ids = backlog(home, 300, "Hung text")
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.05
    log = home / "daemon.log"

    daemon = start_daemon(home)
    try:
        wait_for_log(log, "helper processes started")
        pids = re.search(r"started \(pids (\d+), (\d+)\)", log.read_text())
        assert pids is not None
        hung = int(pids.group(1))
        os.kill(hung, signal.SIGSTOP)

        wait_for_log(log, f"Helper process {hung} did not stop; killed", timeout=60)
        # The sweep that started it finishes, and the next one can run.
        wait_for_log(log, "Sweep: total", timeout=30)
        with pytest.raises(ProcessLookupError):
            os.kill(hung, 0)
    finally:
        assert stop_daemon(daemon) == 0

    rows = assert_sent_once(fake_twilio, ids, settled=False)
    assert sum(r.status == MessageStatus.SENT for r in rows) > 0


def test_a_helper_whose_parent_is_gone_exits_at_once(home, fake_twilio):
    ids = backlog(home, 200, "Orphan text")
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.05
    practice, _, settings = context(home)
    helper = start_helper(home, practice.id, settings)
    fake_twilio.wait_for(5, timeout=30)

    # Its parent's end of the lifeline closes, as when the parent dies.
    assert helper.stdin is not None
    helper.stdin.close()
    code = helper.wait(timeout=5)

    assert code == 3
    seen = len(fake_twilio.messages)
    time.sleep(0.5)
    assert len(fake_twilio.messages) == seen < 200
    rows = list(ScheduledMessage.select().where(ScheduledMessage.id.in_(ids)))
    assert {r.status for r in rows} <= {
        MessageStatus.SENT,
        MessageStatus.SENDING,
        MessageStatus.PENDING,
    }


def test_a_helper_for_a_practice_that_does_not_exist_says_so(home, fake_twilio):
    _, _, settings = context(home)
    helper = start_helper(home, 999, settings)

    # Its parent stays alive (stdin open) until it has exited.
    code = helper.wait(timeout=30)
    assert helper.stdin is not None and helper.stdout is not None
    out = helper.stdout.read()
    helper.stdin.close()

    assert code == 2
    log = (home / "helper.log").read_text()
    assert "there is no practice 999" in log
    assert "Traceback" not in log
    assert out == b""


def start_helper(
    home_path: Path, practice_id: int, settings: Settings
) -> "subprocess.Popen[bytes]":
    """A helper as the daemon starts one, with this process as its parent;
    its log goes to helper.log in the home."""
    log = open(home_path / "helper.log", "ab")  # noqa: SIM115 - the helper's
    helper = subprocess.Popen(
        [sys.executable, "-m", "daemon.helpers", "--practice", str(practice_id)]
        + ["--parent", str(os.getpid())],
        cwd=REPO,
        env=daemon_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    log.close()
    assert helper.stdin is not None
    helper.stdin.write(pickle.dumps((resolve_home(home_path), settings)))
    helper.stdin.flush()
    return helper


def wait_for_log(log: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not (log.exists() and text in log.read_text(errors="replace")):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {log}"
        time.sleep(0.05)
