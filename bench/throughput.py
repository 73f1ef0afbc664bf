"""Throughput: drain a backlog of due messages through the real twilio client
to a fake Twilio in its own process, beside a bare loop of
``client.messages.create`` against a fake of its own."""

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.processes import FakeTwilioProcess, child_env
from bench.report import Figure
from bench.seed import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    add_due_backlog,
    add_patients,
    close_home,
    open_home,
    twilio_sms,
    write_config,
)
from store.models import MessageStatus, ScheduledMessage, SentMessage, utcnow

NAME = "throughput"


def bare_loop(base_url: str, count: int) -> float:
    """Messages per second of one thread calling the client in a loop."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=TwilioHttpClient(timeout=5))
    client.region = None
    client.edge = None
    client.api.base_url = base_url

    # The first request opens the connection; the gateway pays that once too.
    client.messages.create(to="+12125550100", from_=SENDER, body="warm-up")
    started = time.perf_counter()
    for n in range(count):
        client.messages.create(
            to=f"+1212555{n % 10000:04d}", from_=SENDER, body=f"Bare text {n}"
        )
    return count / (time.perf_counter() - started)


def drain(home: Path, base_url: str, count: int) -> tuple[float, str, list[str]]:
    """Seed ``count`` due messages, sweep them out as the daemon does (with
    its helper processes); returns the rate, the processes and threads that
    sent, and what the check afterwards found wrong."""
    from daemon.gateways import build_gateway
    from daemon.helpers import Helpers
    from daemon.pipeline import Sender
    from daemon.sweep import sweep
    from store.settings import load_settings

    write_config(home, sms=twilio_sms(base_url))
    practice = open_home(home)
    now = utcnow()
    patients = add_patients(practice, min(count, 5000), now)
    add_due_backlog(practice, patients, count, now)

    settings = load_settings(home / "config.toml")
    env = {**os.environ, **child_env()}
    gateway = build_gateway(settings, _home(home), env)
    sender = Sender(settings, gateway)
    workers = settings.sending.concurrency
    helpers = Helpers(_home(home), settings, env=env)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send")
    try:
        started = time.perf_counter()
        summary = sweep(sender, version="bench", pool=pool, helpers=helpers)
        elapsed = time.perf_counter() - started
    finally:
        pool.shutdown(wait=True)
        gateway.close()

    problems = []
    if summary.outcomes.get("sent", 0) != count:
        problems.append(f"the sweep reports {summary}")
    problems += _check_sent_once(count)
    rate = count / elapsed
    senders = f"{settings.sending.processes} processes × {workers} threads"
    return rate, senders, problems


def _check_sent_once(count: int) -> list[str]:
    problems = []
    statuses = Counter(
        s for (s,) in ScheduledMessage.select(ScheduledMessage.status).tuples()
    )
    if statuses != Counter({MessageStatus.SENT: count}):
        problems.append(f"rows by status: {dict(statuses)}")
    sids = [
        sid
        for (sid,) in ScheduledMessage.select(ScheduledMessage.provider_sid).tuples()
    ]
    if len(set(sids)) != count or "" in sids:
        problems.append(f"{len(set(sids))} distinct provider ids for {count} rows")
    if SentMessage.select().count() != count:
        problems.append(f"{SentMessage.select().count()} sent records for {count}")
    return problems


def _home(path: Path):  # type: ignore[no-untyped-def]
    from store.home import resolve_home

    return resolve_home(path)


def run(workdir: Path, *, quick: bool) -> tuple[list[Figure], list[str]]:
    count = 500 if quick else 5000
    bare_count = 300 if quick else 2000

    with FakeTwilioProcess() as fake:
        bare = bare_loop(fake.base_url, bare_count)

    home = workdir / "throughput"
    with FakeTwilioProcess() as fake:
        try:
            rate, senders, problems = drain(home, fake.base_url, count)
            expected = Counter(
                ScheduledMessage.select(
                    ScheduledMessage.to_number, ScheduledMessage.body
                ).tuples()
            )
        finally:
            close_home()
        received = Counter(fake.to_and_body())

    if sum(received.values()) != count:
        problems.append(f"the fake accepted {sum(received.values())} of {count}")
    if received != expected:
        problems.append("the fake's texts differ from the rows marked sent")
    once = not problems

    figures = [
        Figure(
            NAME,
            f"{count:,} due, {senders}",
            rate,
            "msg/s",
            reference=bare,
            reference_label="bare create loop",
            target="≥ 0.8× bare",
            ok=rate >= 0.8 * bare,
        ),
        Figure(
            NAME,
            "each row sent exactly once",
            float(once),
            "",
            target="yes",
            ok=once,
        ),
    ]
    notes = [
        f"throughput: {count:,} due messages (half reminders rendered at send "
        "time, half staff texts) drained by one sweep and the helper processes "
        f"it starts ({senders}, the default settings) "
        "through TwilioGateway (the official client) to "
        "`python -m tests.fakes.fake_twilio` in its own process; reference: "
        f"one thread calling client.messages.create {bare_count:,} times "
        "against another fake process in the same run. Checked afterwards: "
        "every row sent with its own provider id, one sent record each, and "
        "the fake's (to, body) multiset equal to the rows'."
    ]
    notes += [f"throughput problem: {p}" for p in problems]
    return figures, notes
