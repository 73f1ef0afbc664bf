"""Crash drill: SIGKILL the daemon at random moments while it drains a backlog.

A power cut can land anywhere: between claim and send, after Twilio took a
text but before the row says so, in the middle of a reconcile. Whatever the
moment, no patient gets a text twice, and every text ends sent, or unknown
and listed for staff.
"""

import json
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.queue import connect_queue
from store import wakeups
from store.appointments import book_appointment
from store.home import resolve_home
from store.messages import schedule_message
from store.models import MessageStatus, ScheduledMessage, utcnow
from tests.drills.desk import (
    SETTLED,
    Daemon,
    Desk,
    describe,
    duplicates,
    make_desk,
    run_cli,
    sizes,
    wait_settled,
)

RECONCILE_AFTER = 10.0


@dataclass(frozen=True)
class CrashSize:
    rounds: int
    messages: int
    # Every so many rounds, wait out reconcile_after before the restart, so
    # the restarted daemon's first sweep reconciles (and may be killed in it).
    reconcile_every: int
    seed: int


@pytest.mark.parametrize(
    "size",
    sizes(
        CrashSize(rounds=3, messages=150, reconcile_every=0, seed=11),
        CrashSize(rounds=20, messages=1000, reconcile_every=5, seed=20),
    ),
)
def test_sigkill_while_draining_loses_nothing_and_repeats_nothing(
    size: CrashSize, tmp_path: Path, fake_twilio, store_closed
) -> None:
    rng = random.Random(size.seed)
    desk = make_desk(
        tmp_path / "home",
        fake_twilio,
        patients=40,
        # Small batches, so the backlog is large enough for helper processes
        # to send beside the daemon, and the kills land on them too.
        sending='reconcile_after = "10s"\nsweep_batch = 25\nprocesses = 3',
        reminders='offsets = ["2h"]',
    )
    # Every answer takes a moment, as over a real network, so a backlog
    # takes long enough to drain for the kills to land inside it.
    fake_twilio.set_fault_rate("slow", 1.0, seed=size.seed)
    fake_twilio.slow_seconds = 0.05
    ids = queue_backlog(desk, size, rng)

    daemon = Daemon(desk.home)
    kills = []
    for round_no in range(1, size.rounds + 1):
        if (
            size.reconcile_every
            and round_no % size.reconcile_every == 0
            and kills
            and time.monotonic() - kills[-1] < RECONCILE_AFTER + 1
        ):
            time.sleep(RECONCILE_AFTER + 1 - (time.monotonic() - kills[-1]))
        daemon.start()
        kill_at_random(daemon, fake_twilio, rng, per_round=size.messages // size.rounds)
        kills.append(time.monotonic())

    # The last kill's rows in sending are reconciled by the final run's first
    # sweep once they are older than reconcile_after.
    time.sleep(max(0.0, RECONCILE_AFTER + 1 - (time.monotonic() - kills[-1])))
    daemon.start()
    try:
        found = wait_settled(ids, SETTLED, timeout=60 + size.messages / 10)
    finally:
        code = daemon.stop()

    bodies = [m.body for m in fake_twilio.messages]
    twice = duplicates(bodies)
    assert not twice, f"{len(twice)} texts reached Twilio twice, e.g. {twice[:3]}"
    assert code == 0, daemon.log_text()[-3000:]
    assert all(r.status in SETTLED for r in found), describe(found)

    sent = {r.body: r for r in found if r.status == MessageStatus.SENT}
    by_body = {m.body: m for m in fake_twilio.messages}
    assert set(sent) <= set(by_body), "a row says sent but Twilio never had it"
    assert all(sent[b].provider_sid == by_body[b].sid for b in sent), (
        "a sent row names another text's provider id"
    )
    assert set(by_body) <= {r.body for r in found}, "Twilio has texts we never sent"

    unknown = {r.id for r in found if r.status == MessageStatus.UNKNOWN}
    listed = run_cli(desk.home, "messages", "--status", "unknown", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {m["id"] for m in json.loads(listed.stdout)} == unknown
    assert "Traceback" not in daemon.log_text()
    helped = [
        log for log in daemon.logs if "helper processes started" in log.read_text()
    ]
    assert helped, "no run started helper processes, so none was killed with one"


def queue_backlog(desk: Desk, size: CrashSize, rng: random.Random) -> list[int]:
    """Three kinds of rows: due now with no wake-up (only a sweep finds
    them), ETA wake-ups due through the drill, and reminders."""
    now = utcnow()
    spread = 3.0 * size.rounds
    reminders = size.messages // 10
    wake_ups = size.messages // 4
    sweep_only = size.messages - reminders - wake_ups

    wakeups.set_hook(None)
    ids = [
        text(desk, f"Sweep-only text {n:04d}", now, rng).id for n in range(sweep_only)
    ]
    connect_queue(resolve_home(desk.home))
    ids += [
        text(
            desk,
            f"Wake-up text {n:04d}",
            now + timedelta(seconds=rng.uniform(1, spread)),
            rng,
        ).id
        for n in range(wake_ups)
    ]

    # A reminder's text is rendered when it goes; the provider's name makes
    # each one unique so the fake's bodies tell them apart.
    for n in range(reminders):
        lead = timedelta(hours=2, seconds=rng.uniform(2, spread))
        appointment = book_appointment(
            desk.practice,
            patient_id=rng.choice(desk.patients).id,
            starts_at=utcnow() + lead,
            status="confirmed",
            provider=f"Dr. Crash {n:04d}",
            actor="drill",
            settings=desk.settings,
        )
        ids += [
            m.id
            for m in ScheduledMessage.select().where(
                ScheduledMessage.appointment == appointment.id
            )
        ]
    wakeups.set_hook(None)
    assert len(ids) == size.messages
    return ids


def text(desk: Desk, body: str, at, rng: random.Random):  # type: ignore[no-untyped-def]
    return schedule_message(
        desk.practice,
        patient_id=rng.choice(desk.patients).id,
        body=body,
        at=at,
        actor="drill",
        settings=desk.settings,
    )


def kill_at_random(  # type: ignore[no-untyped-def]
    daemon: Daemon, fake, rng: random.Random, per_round: int
) -> None:
    """SIGKILL after a random number of new texts reached the fake, or, one
    round in four, at a random instant of start-up."""
    if rng.random() < 0.25:
        time.sleep(rng.uniform(0.1, 2.0))
        daemon.kill()
        return

    target = len(fake.messages) + rng.randint(1, max(2, per_round))
    last_count, last_change = len(fake.messages), time.monotonic()
    while len(fake.messages) < target:
        # Once nothing has arrived for a while the backlog is drained (or the
        # rest waits for its wake-up time); kill it idle rather than wait.
        if len(fake.messages) != last_count:
            last_count, last_change = len(fake.messages), time.monotonic()
        elif time.monotonic() - last_change > 3:
            break
        time.sleep(0.002)
    daemon.kill()
