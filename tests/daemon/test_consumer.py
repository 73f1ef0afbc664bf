"""The real daemon, a Huey consumer in a subprocess, against a fake Twilio.

These are the tests where timing and crashes matter: wake-ups fire on time,
stale ones do nothing, and a killed consumer loses and repeats nothing.
"""

import random
import signal
import time
from datetime import timedelta

import pytest

from store import wakeups
from store.appointments import (
    book_appointment,
    reschedule_appointment,
    set_appointment_status,
)
from store.messages import schedule_message
from store.models import MessageStatus, ScheduledMessage, utcnow
from tests.daemon.daemon_process import (
    context,
    start_daemon,
    stop_daemon,
    wait_for_status,
    wait_until_ready,
)


def test_wakeups_send_each_message_once_within_a_second_or_two(home, fake_twilio):
    practice, patient, settings = context(home)
    daemon = start_daemon(home)
    try:
        wait_until_ready(home)
        start = utcnow()
        due = [start + timedelta(seconds=3 + 0.7 * i) for i in range(6)]
        messages = [
            schedule_message(
                practice,
                patient_id=patient.id,
                body=f"Message number {i}",
                at=at,
                actor="test",
                settings=settings,
            )
            for i, at in enumerate(due)
        ]

        fake_twilio.wait_for(len(messages), timeout=20)
        time.sleep(1.5)
    finally:
        assert stop_daemon(daemon) == 0

    arrived = {m.body: m.received_at for m in fake_twilio.messages}
    assert len(fake_twilio.messages) == len(messages)
    for i, at in enumerate(due):
        lateness = arrived[f"Message number {i}"] - at.timestamp()
        assert -0.05 <= lateness <= 2.0, f"message {i} was {lateness:.2f} s late"
    rows = wait_for_status([m.id for m in messages], {MessageStatus.SENT}, 5)
    assert {r.provider_sid for r in rows} == {m.sid for m in fake_twilio.messages}


@pytest.mark.config(reminders='offsets = ["2h"]')
def test_stale_wakeups_after_a_reschedule_or_cancel_send_nothing(home, fake_twilio):
    practice, patient, settings = context(home)
    now = utcnow()
    moved = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=now + timedelta(hours=2, seconds=4),
        status="confirmed",
        actor="test",
        settings=settings,
    )
    cancelled = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=now + timedelta(hours=2, seconds=5),
        status="confirmed",
        actor="test",
        settings=settings,
    )
    kept = book_appointment(
        practice,
        patient_id=patient.id,
        starts_at=now + timedelta(hours=2, seconds=6),
        status="confirmed",
        actor="test",
        settings=settings,
    )
    daemon = start_daemon(home)
    try:
        wait_until_ready(home)
        reschedule_appointment(
            practice,
            moved.id,
            now + timedelta(hours=5),
            actor="test",
            settings=settings,
        )
        set_appointment_status(
            practice, cancelled.id, "cancelled", actor="test", settings=settings
        )
        fake_twilio.wait_for(1, timeout=15)
        time.sleep(3)
    finally:
        assert stop_daemon(daemon) == 0

    assert len(fake_twilio.messages) == 1
    rows = {
        r.appointment_id: r
        for r in ScheduledMessage.select().where(
            ScheduledMessage.status != MessageStatus.CANCELLED
        )
    }
    assert rows[kept.id].status == MessageStatus.SENT
    assert rows[moved.id].status == MessageStatus.PENDING
    assert cancelled.id not in rows
    # Skipping a revoked wake-up is routine, not a warning for the operator.
    log = (home / "daemon.log").read_text()
    assert "INFO huey: Task daemon.tasks.send_due_message" in log
    assert "revoked" in log
    assert not [line for line in log.splitlines() if "WARNING" in line]


@pytest.mark.config(sending='reconcile_after = "10s"')
def test_sigkill_mid_batch_loses_nothing_and_sends_nothing_twice(home, fake_twilio):
    practice, patient, settings = context(home)
    now = utcnow()
    wakeups.set_hook(None)  # only the sweep, so the batch is in flight at once
    ids = [
        schedule_message(
            practice,
            patient_id=patient.id,
            body=f"Batch text {i:03d}",
            at=now,
            actor="test",
            settings=settings,
        ).id
        for i in range(120)
    ]
    # Every answer takes a moment, as over a real network.
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.05

    daemon = start_daemon(home)
    fake_twilio.wait_for(random.randint(10, 60), timeout=30)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    killed_at = time.monotonic()
    unsent_at_kill = (
        ScheduledMessage.select()
        .where(ScheduledMessage.status != MessageStatus.SENT)
        .count()
    )

    # Restart once the in-doubt rows are old enough to be reconciled.
    time.sleep(max(0.0, 11 - (time.monotonic() - killed_at)))
    daemon = start_daemon(home, log_name="daemon-restarted.log")
    try:
        rows = wait_for_status(
            ids, {MessageStatus.SENT, MessageStatus.UNKNOWN}, timeout=60
        )
    finally:
        assert stop_daemon(daemon) == 0

    bodies = [m.body for m in fake_twilio.messages]
    assert len(bodies) == len(set(bodies)), "a message reached Twilio twice"
    sent = [r for r in rows if r.status == MessageStatus.SENT]
    assert len(sent) + sum(r.status == MessageStatus.UNKNOWN for r in rows) == 120
    assert {r.body for r in sent} <= set(bodies)
    # The kill really landed mid-drain, with texts still to go.
    assert unsent_at_kill > 0


def test_sigterm_finishes_in_flight_sends_and_leaves_nothing_sending(home, fake_twilio):
    practice, patient, settings = context(home)
    wakeups.set_hook(None)
    ids = [
        schedule_message(
            practice,
            patient_id=patient.id,
            body=f"Evening text {i:03d}",
            at=utcnow(),
            actor="test",
            settings=settings,
        ).id
        for i in range(200)
    ]
    fake_twilio.set_fault_rate("slow", 1.0)
    fake_twilio.slow_seconds = 0.2

    daemon = start_daemon(home)
    fake_twilio.wait_for(8, timeout=30)
    started = time.monotonic()
    code = stop_daemon(daemon, signal.SIGTERM)
    took = time.monotonic() - started

    assert code == 0
    assert took < 20
    rows = list(ScheduledMessage.select().where(ScheduledMessage.id.in_(ids)))
    assert not [r.id for r in rows if r.status == MessageStatus.SENDING]
    sent = {r.body for r in rows if r.status == MessageStatus.SENT}
    assert sent == {m.body for m in fake_twilio.messages}
    assert any(r.status == MessageStatus.PENDING for r in rows)


def test_a_second_daemon_on_the_same_home_is_refused(home, fake_twilio):
    import subprocess
    import sys

    from tests.daemon.daemon_process import REPO, daemon_env

    daemon = start_daemon(home)
    try:
        wait_until_ready(home)
        status = subprocess.run(
            [sys.executable, "-m", "cli.main", "--home", str(home), "status"],
            cwd=REPO, env=daemon_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        second = subprocess.run(
            [sys.executable, "-m", "cli.main", "--home", str(home), "daemon"],
            cwd=REPO, env=daemon_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        one_off = subprocess.run(
            [sys.executable, "-m", "cli.main", "--home", str(home), "sweep"],
            cwd=REPO, env=daemon_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        assert stop_daemon(daemon) == 0

    assert status.returncode == 0, status.stdout + status.stderr
    assert "running" in status.stdout
    assert second.returncode == 1
    assert f"pid {daemon.pid}" in second.stderr
    assert "already sending" in second.stderr
    # A one-off sweep beside it could resend what the daemon has claimed.
    assert one_off.returncode == 1
    assert f"daemon (pid {daemon.pid}) is running" in one_off.stderr


def test_the_daemon_waits_its_turn_while_a_one_off_sweep_sends(home, fake_twilio):
    import subprocess
    import sys

    from daemon.service import hold_daemon_lock
    from store.home import resolve_home
    from tests.daemon.daemon_process import REPO, daemon_env

    lock = hold_daemon_lock(resolve_home(home), role="sweep")
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "cli.main", "--home", str(home), "daemon"],
            cwd=REPO, env=daemon_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        lock.close()

    assert refused.returncode == 1
    assert "one-off `frontdesk sweep`" in refused.stderr
    daemon = start_daemon(home)
    try:
        wait_until_ready(home)
    finally:
        assert stop_daemon(daemon) == 0
