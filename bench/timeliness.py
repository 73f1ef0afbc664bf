"""Timeliness: how late texts reach the provider when their wake-ups fall due
over a minute, through the real daemon, beside the minute sweep alone."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import processes
from bench.report import Figure
from bench.seed import add_patients, close_home, open_home, twilio_sms, write_config
from daemon.queue import connect_queue
from store import wakeups
from store.home import resolve_home
from store.messages import schedule_message
from store.settings import load_settings
from tests.fakes.fake_twilio import FakeTwilio

NAME = "timeliness"
# Time to enqueue every message before the first falls due.
LEAD = timedelta(seconds=5)


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the values fall, interpolated."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * share
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def measure(
    home: Path, fake: FakeTwilio, count: int, span: float, *, sweep_only: bool
) -> list[float]:
    """Schedule ``count`` texts due evenly over ``span`` seconds with the
    daemon running; returns each one's lateness at the fake, in seconds."""
    write_config(home, sms=twilio_sms(fake.base_url))
    practice = open_home(home)
    settings = load_settings(home / "config.toml")
    patients = add_patients(practice, count, datetime.now(UTC))
    daemon = processes.start_daemon(home, sweep_only=sweep_only)
    try:
        processes.wait_until_ready(home)
        if not sweep_only:
            # As the TUI and the command line do: each schedule enqueues an
            # ETA task. The sweep-only reference leaves the hook out.
            connect_queue(resolve_home(home))

        start = datetime.now(UTC) + LEAD
        due = {}
        for i in range(count):
            at = start + timedelta(seconds=span * i / count)
            body = f"Timeliness text {i}"
            schedule_message(
                practice,
                patient_id=patients[i],
                body=body,
                at=at,
                actor="bench",
                settings=settings,
            )
            due[body] = at.timestamp()

        # The sweep alone may take a minute past the last due time.
        fake.wait_for(count, timeout=LEAD.total_seconds() + span + 90)
    finally:
        wakeups.set_hook(None)
        processes.stop(daemon)
        close_home()

    return [m.received_at - due[m.body] for m in fake.messages]


def sweep_ticks(span: float, count: int, now: float) -> list[float]:
    """Lateness the minute sweep alone gives for the same due times: each
    text waits for the next whole minute, when the periodic sweep runs."""
    start = now + LEAD.total_seconds()
    lateness = []
    for i in range(count):
        due = start + span * i / count
        lateness.append(60 - due % 60)
    return lateness


def run(workdir: Path, *, quick: bool) -> tuple[list[Figure], list[str]]:
    count, span = (10, 10.0) if quick else (50, 60.0)

    with FakeTwilio() as fake:
        lateness = measure(workdir / "timeliness", fake, count, span, sweep_only=False)
    if quick:
        reference = sweep_ticks(span, count, time.time())
        how = "computed from the minute ticks"
    else:
        with FakeTwilio() as fake:
            reference = measure(
                workdir / "timeliness-sweep", fake, count, span, sweep_only=True
            )
        how = "measured"

    figures = []
    for label, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        value = percentile(lateness, share)
        figures.append(
            Figure(
                NAME,
                f"lateness {label}, {count} wake-ups over {span:.0f} s",
                value,
                "s",
                reference=percentile(reference, share),
                reference_label="sweep alone",
                target="≤ 1.5 s" if label == "p99" else "",
                ok=value <= 1.5 if label == "p99" else None,
            )
        )
    notes = [
        f"timeliness: {count} texts due evenly over {span:.0f} s, scheduled "
        "through the store with the queue hook installed (ETA tasks), sent by "
        "a real `frontdesk daemon` (4 workers) to a fake Twilio; lateness is "
        "the fake's receive time minus the due time. Reference "
        f"({how}): the same schedule with no hook and a daemon whose sweep "
        "arms no wake-ups (bench/sweep_only.py), so only the minute sweep "
        "sends."
    ]
    return figures, notes
