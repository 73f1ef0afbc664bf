"""A desk to drill on: a home sending to the fake, its daemon, its queue.

The drills share these so each test reads as its scenario: set up, break
something, recover, check the promises.
"""

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from store.consent import grant_consent
from store.db import open_database
from store.models import MessageStatus, Patient, Practice, ScheduledMessage
from store.patients import add_patient
from store.practices import create_practice
from store.settings import Settings, load_settings
from tests.daemon.daemon_process import REPO, SENDER, daemon_env, start_daemon
from tests.fakes.fake_twilio import FakeTwilio

SETTLED = {MessageStatus.SENT, MessageStatus.UNKNOWN}


def sizes(short: Any, slow: Any) -> list[Any]:
    """Parameters for a drill: the short size by default, the slow one only
    under ``-m slow``."""
    return [
        pytest.param(short, id="short"),
        pytest.param(slow, id="slow", marks=pytest.mark.slow),
    ]


def mobile(n: int) -> str:
    """A distinct valid New York mobile number for patient ``n`` (0-999)."""
    exchange = (212, 646, 917, 347, 718, 929, 332, 516, 914, 631)[n // 100]
    return f"({exchange}) 555-01{n % 100:02d}"


def write_config(home: Path, fake: FakeTwilio, *, sending: str, reminders: str) -> None:
    """config.toml sending through the fake, with no quiet hours so a drill
    runs at any hour of the real day; ``sending`` may set the timeout."""
    if "timeout" not in sending:
        sending += '\ntimeout = "2s"'
    text = f"""
[sms]
backend = "twilio"
from = "{SENDER}"
api_base = "{fake.base_url}"

[sending]
quiet_hours = ""
{sending}

[reminders]
{reminders}
"""
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(0o600)


@dataclass
class Desk:
    """One practice in a home folder, bound in this process."""

    home: Path
    practice: Practice
    settings: Settings
    patients: list[Patient]


def make_desk(
    home: Path,
    fake: FakeTwilio,
    *,
    patients: int,
    sending: str = "",
    reminders: str = "",
) -> Desk:
    """A home sending to ``fake`` with no quiet hours, and patients who all
    agreed to texts."""
    home.mkdir(parents=True, exist_ok=True)
    write_config(home, fake, sending=sending, reminders=reminders)
    open_database(home / "frontdesk.db")
    practice = create_practice("Harbour Dental", "America/New_York", "US")
    settings = load_settings(home / "config.toml")

    people = []
    for n in range(patients):
        patient = add_patient(
            practice,
            first_name=f"Drill{n}",
            last_name="Patient",
            phone=mobile(n),
            actor="drill",
        )
        grant_consent(
            practice,
            patient.id,
            source="written_form",
            actor="drill",
            settings=settings,
        )
        people.append(patient)
    return Desk(home, practice, settings, people)


@dataclass
class Daemon:
    """The real `frontdesk daemon` in a subprocess, one log file per run."""

    home: Path
    runs: int = 0
    process: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.runs += 1
        name = f"daemon-{self.runs:02d}.log"
        self.logs.append(self.home / name)
        self.process = start_daemon(self.home, log_name=name)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait for the run's first sweep, which it makes as it starts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Sweep:" in self.logs[-1].read_text(errors="replace"):
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"the daemon did not start:\n{self.logs[-1].read_text()[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; returns the exit status."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return -9

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)


def run_cli(
    home: Path, *argv: object, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run `python -m cli.main --home HOME ARGS...` in a new process."""
    env = daemon_env()
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "--home", str(home)]
        + [str(arg) for arg in argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rows(ids: Iterable[int]) -> list[ScheduledMessage]:
    wanted = list(ids)
    found: list[ScheduledMessage] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.extend(ScheduledMessage.select().where(ScheduledMessage.id.in_(chunk)))
    return found


def wait_settled(
    ids: list[int], statuses: set[str], timeout: float, poll: float = 0.25
) -> list[ScheduledMessage]:
    """Wait until every message is in one of ``statuses``; returns the rows
    either way, so the drill's assertions say what was left."""
    deadline = time.monotonic() + timeout
    while True:
        found = rows(ids)
        if all(row.status in statuses for row in found):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(poll)


def describe(found: list[ScheduledMessage], limit: int = 8) -> str:
    """Statuses by count, and the first few unsettled rows with their reasons."""
    counts = Counter(str(row.status) for row in found)
    odd = [row for row in found if row.status not in SETTLED][:limit]
    lines = [f"statuses: {dict(counts)}"]
    lines += [
        f"  message {row.id} {row.status} (attempts {row.attempts}, due "
        f"{row.due_at:%H:%M:%S}): {row.last_error_code} {row.last_error}"
        for row in odd
    ]
    return "\n".join(lines)


def duplicates(bodies: Iterable[str]) -> list[str]:
    """Bodies that reached the fake more than once."""
    return [body for body, n in Counter(bodies).items() if n > 1]
