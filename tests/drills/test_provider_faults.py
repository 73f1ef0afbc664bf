"""Provider drill: Twilio errs, stalls and drops connections, then recovers.

500s and 503s, 429s, answers slower than the client waits, and connections
cut before or after Twilio took the text: every one leaves the daemon unsure
or refused. Once Twilio answers again, every text has gone out exactly once.
"""

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.queue import connect_queue
from store import wakeups
from store.home import resolve_home
from store.messages import schedule_message
from store.models import MessageStatus, utcnow
from tests.drills.desk import (
    Daemon,
    Desk,
    describe,
    duplicates,
    make_desk,
    sizes,
    wait_settled,
)

SENDING = """
timeout = "1s"
retry_backoff = "1s"
max_attempts = 20
reconcile_after = "10s"
"""
RECONCILE_AFTER = 10.0

FAULT_RATES = {
    "500": 0.07,
    "503": 0.03,
    "429": 0.08,
    "slow": 0.06,
    "drop_after_accept": 0.06,
    "drop_before_accept": 0.06,
}


@dataclass(frozen=True)
class FaultSize:
    messages: int
    fault_seconds: float
    # The short drill restarts the daemon once Twilio is back, so its first
    # sweep reconciles at once; the slow one waits for the minute sweeps.
    restart: bool
    list_fails: int
    settle_timeout: float
    seed: int


@pytest.mark.parametrize(
    "size",
    sizes(
        FaultSize(40, 6, restart=True, list_fails=0, settle_timeout=60, seed=5),
        FaultSize(300, 90, restart=False, list_fails=3, settle_timeout=420, seed=7),
    ),
)
def test_every_text_goes_out_once_after_twilio_recovers(
    size: FaultSize, tmp_path: Path, fake_twilio, store_closed
) -> None:
    rng = random.Random(size.seed)
    desk = make_desk(tmp_path / "home", fake_twilio, patients=30, sending=SENDING)
    fake_twilio.slow_seconds = 2.0
    # One of each first, so even the short drill meets every fault.
    fake_twilio.script(*FAULT_RATES)
    for kind, rate in FAULT_RATES.items():
        fake_twilio.set_fault_rate(kind, rate, seed=size.seed)
    fake_twilio.list_fails = size.list_fails
    ids = queue_texts(desk, size, rng)

    daemon = Daemon(desk.home)
    daemon.start()
    try:
        daemon.wait_ready()
        time.sleep(size.fault_seconds)
        for kind in FAULT_RATES:
            fake_twilio.set_fault_rate(kind, 0)
        recovered = time.monotonic()

        if size.restart:
            time.sleep(max(0.0, RECONCILE_AFTER + 1 - (time.monotonic() - recovered)))
            assert daemon.stop() == 0, daemon.log_text()[-3000:]
            daemon.start()
        found = wait_settled(ids, {MessageStatus.SENT}, timeout=size.settle_timeout)
    finally:
        code = daemon.stop()

    injected = Counter(r.fault for r in fake_twilio.requests if r.fault)
    report = f"faults injected: {dict(injected)}\n{describe(found)}"
    bodies = [m.body for m in fake_twilio.messages]
    twice = duplicates(bodies)
    assert not twice, f"texts reached Twilio twice: {twice[:5]}\n{report}"
    assert all(r.status == MessageStatus.SENT for r in found), report
    assert set(injected) == set(FAULT_RATES), report
    assert code == 0, daemon.log_text()[-3000:]

    by_body = {m.body: m.sid for m in fake_twilio.messages}
    assert sorted(by_body) == sorted(r.body for r in found), report
    wrong_sid = [r.id for r in found if by_body[r.body] != r.provider_sid]
    assert not wrong_sid, f"rows with another text's provider id: {wrong_sid}"
    assert "Traceback" not in daemon.log_text()


def queue_texts(desk: Desk, size: FaultSize, rng: random.Random) -> list[int]:
    """A third due now, found by the sweep; the rest woken through the
    fault window by their ETA tasks."""
    now = utcnow()
    ids = []
    for n in range(size.messages):
        if n < size.messages // 3:
            wakeups.set_hook(None)
            at = now
        else:
            connect_queue(resolve_home(desk.home))
            at = now + timedelta(seconds=rng.uniform(2, size.fault_seconds))
        message = schedule_message(
            desk.practice,
            patient_id=rng.choice(desk.patients).id,
            body=f"Fault drill text {n:04d}",
            at=at,
            actor="drill",
            settings=desk.settings,
        )
        ids.append(message.id)
    wakeups.set_hook(None)
    return ids
