"""Running the real daemon in a subprocess against a fake Twilio, for tests."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from store.models import ScheduledMessage
from store.settings import load_settings
from tests.fakes.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

REPO = Path(__file__).resolve().parents[2]
SENDER = "+15005550006"


def write_config(
    home: Path,
    fake: FakeTwilio,
    *,
    quiet_hours: str = "",
    sending: str = "",
    reminders: str = "",
    practice: str = "",
) -> None:
    """A config.toml that sends through the fake; no quiet hours unless asked,
    so the tests run at any hour of the real day."""
    text = f"""
[practice]
{practice}

[sms]
backend = "twilio"
from = "{SENDER}"
api_base = "{fake.base_url}"

[sending]
quiet_hours = "{quiet_hours}"
timeout = "2s"
{sending}

[reminders]
{reminders}
"""
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(0o600)


def daemon_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    for name in ("TWILIO_REGION", "TWILIO_EDGE", "FRONTDESK_HOME"):
        env.pop(name, None)
    return env


def start_daemon(home: Path, log_name: str = "daemon.log") -> subprocess.Popen:
    """Start `frontdesk daemon` for the home; its log goes to a file there."""
    log = open(home / log_name, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "--home", str(home), "daemon"],
        cwd=REPO,
        env=daemon_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_ready(home: Path, timeout: float = 30.0) -> None:
    """Wait for the daemon's first sweep, which it runs as it starts."""
    deadline = time.monotonic() + timeout
    log = home / "daemon.log"
    while time.monotonic() < deadline:
        if log.exists() and "Sweep:" in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise TimeoutError(f"the daemon did not start:\n{tail}")


def stop_daemon(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def context(home: Path):  # type: ignore[no-untyped-def]
    """The home's practice, its patient, and its settings."""
    from store.models import Patient, Practice

    practice = Practice.get()
    return practice, Patient.get(), load_settings(home / "config.toml")


def wait_for_status(ids, statuses, timeout: float) -> list[ScheduledMessage]:
    """Wait until every message is in one of ``statuses``; their rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = list(ScheduledMessage.select().where(ScheduledMessage.id.in_(ids)))
        if all(row.status in statuses for row in rows):
            return rows
        if time.monotonic() > deadline:
            states = sorted((row.id, row.status) for row in rows)
            raise TimeoutError(f"messages did not settle: {states}")
        time.sleep(0.1)
