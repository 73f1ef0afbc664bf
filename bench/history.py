"""History independence: a sweep's time with 100 due messages among a
thousand old rows, and among a million."""

import itertools
import logging
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Figure
from bench.seed import (
    add_due_backlog,
    add_old_history,
    add_patients,
    close_home,
    open_home,
)
from daemon.gateways import Accepted, Outgoing
from store.db import database
from store.lifecycle import claim_due
from store.messages import due_messages
from store.models import Practice
from store.settings import Settings

NAME = "history"
DUE = 100
ROUNDS = 3


class NoopGateway:
    """Accepts every text at once, so the sweep's own work is what is timed."""

    name = "noop"

    def __init__(self) -> None:
        self._ids = itertools.count()

    def send(self, outgoing: Outgoing) -> Accepted:
        return Accepted(f"SM{next(self._ids):032x}", 1, self.name)

    def find_sent(
        self, to: str, since: datetime, body: str, message_id: int
    ) -> Accepted | None:
        return None

    def close(self) -> None:
        pass


def sweep_times(home: Path, old_rows: int) -> tuple[list[float], list[str]]:
    """Build the home, then time ROUNDS sweeps of DUE fresh due messages;
    returns the times and the due queries' plans."""
    from daemon.pipeline import Sender
    from daemon.sweep import sweep

    practice = open_home(home)
    now = datetime.now(UTC)
    patients = add_patients(practice, 1000, now)
    add_old_history(practice, patients, old_rows, now)
    # A live database checkpointed its history long ago; the bulk load's
    # write-ahead log must not be folded in during a timed sweep.
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    settings = Settings.default()
    settings = replace(settings, sending=replace(settings.sending, quiet_hours=None))
    sender = Sender(settings, NoopGateway())
    times = []
    with ThreadPoolExecutor(settings.sending.concurrency) as pool:
        for round_ in range(ROUNDS):
            add_due_backlog(
                practice, patients, DUE, datetime.now(UTC), tag=f"Round {round_}"
            )
            started = time.perf_counter()
            summary = sweep(sender, version="bench", pool=pool)
            times.append(time.perf_counter() - started)
            if summary.outcomes.get("sent") != DUE:
                raise RuntimeError(f"the sweep did not send them all: {summary}")

    plans = query_plans(practice)
    close_home()
    return times, plans


def query_plans(practice: Practice) -> list[str]:
    """EXPLAIN QUERY PLAN of the SQL the two due queries really run."""
    captured: list[tuple[str, list]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sql, params = record.msg  # type: ignore[misc]
            if sql.startswith("SELECT"):
                captured.append((sql, list(params)))

    peewee_log = logging.getLogger("peewee")
    handler, level = Capture(), peewee_log.level
    peewee_log.addHandler(handler)
    peewee_log.setLevel(logging.DEBUG)
    peewee_log.propagate = False
    try:
        # Nothing is due now, so neither claims or changes anything.
        claim_due(practice, datetime.now(UTC), limit=500)
        claim_sql = captured[0]
        captured.clear()
        due_messages(practice, datetime.now(UTC))
        due_sql = captured[0]
    finally:
        peewee_log.removeHandler(handler)
        peewee_log.setLevel(level)
        peewee_log.propagate = True

    lines = []
    for label, (sql, params) in (
        ("claim_due", claim_sql),
        ("due_messages", due_sql),
    ):
        lines.append(f"{label}: {sql}")
        plan = database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        lines += [f"    {row[-1]}" for row in plan]
    return lines


def uses_index(plans: list[str]) -> bool:
    steps = [line.strip() for line in plans if line.startswith("    ")]
    return bool(steps) and all(
        "INDEX" in step or not step.startswith("SCAN") for step in steps
    )


def run(workdir: Path, *, quick: bool) -> tuple[list[Figure], list[str]]:
    small_rows, large_rows = (1_000, 100_000) if quick else (1_000, 1_000_000)

    small, _ = sweep_times(workdir / "history-small", small_rows)
    started = time.perf_counter()
    large, plans = sweep_times(workdir / "history-large", large_rows)
    build = time.perf_counter() - started - sum(large)

    small_s, large_s = statistics.median(small), statistics.median(large)
    indexed = uses_index(plans)
    figures = [
        Figure(
            NAME,
            f"sweep of {DUE} due among {large_rows:,} old rows",
            large_s * 1000,
            "ms",
            reference=small_s * 1000,
            reference_label=f"among {small_rows:,}",
            target="≤ 1.5× small",
            ok=large_s <= 1.5 * small_s,
        ),
        Figure(
            NAME,
            "due queries use an index",
            float(indexed),
            "",
            target="yes",
            ok=indexed,
        ),
    ]
    notes = [
        f"history: median of {ROUNDS} sweeps, each sending {DUE} fresh due "
        "messages (half reminders) through the real pipeline and sweep with "
        "the daemon's send pool and a no-op gateway (accepts at once), so "
        f"the store is what is timed; old rows are sent messages with their "
        f"sent records, bulk-inserted ({large_rows:,} took {build:.0f} s with "
        "1,000 patients).",
        "history: EXPLAIN QUERY PLAN on the large database:",
        *[f"`{line.strip()}`" for line in plans],
    ]
    return figures, notes
