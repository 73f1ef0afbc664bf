"""The processes a bench runs beside itself: a fake Twilio, the real daemon,
and what /proc says about them."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Shared with the daemon tests: the bench starts the same daemon the same way.
from tests.daemon.daemon_process import wait_until_ready as wait_until_ready

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def child_env() -> dict[str, str]:
    """The environment for a child: the fake's credentials, loopback only."""
    from bench.seed import ACCOUNT_SID, AUTH_TOKEN

    env = dict(os.environ)
    env.update(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    for name in ("TWILIO_REGION", "TWILIO_EDGE", "FRONTDESK_HOME"):
        env.pop(name, None)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    return env


class FakeTwilioProcess:
    """``python -m tests.fakes.fake_twilio`` in its own process, so its CPU
    does not share the sender's GIL."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> "FakeTwilioProcess":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.fake_twilio"],
            cwd=REPO,
            env=child_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"the fake Twilio did not start: {self.base_url!r}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.communicate(timeout=30)

    def to_and_body(self) -> list[tuple[str, str]]:
        """(to, body) of every message the fake accepted, from its list API."""
        from twilio.rest import Client

        from bench.seed import ACCOUNT_SID, AUTH_TOKEN

        client = Client(ACCOUNT_SID, AUTH_TOKEN)
        client.region = None
        client.edge = None
        client.api.base_url = self.base_url
        return [(m.to, m.body) for m in client.messages.stream(page_size=1000)]


def daemon_command(home: Path, *, sweep_only: bool = False) -> list[str]:
    """The real `frontdesk daemon`, or the bench's sweep-only variant of it."""
    module = "bench.sweep_only" if sweep_only else "cli.main"
    return [sys.executable, "-m", module, "daemon", "--home", str(home)]


def start_daemon(home: Path, *, sweep_only: bool = False) -> subprocess.Popen[bytes]:
    log = open(home / "daemon.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        daemon_command(home, sweep_only=sweep_only),
        cwd=REPO,
        env=child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> int:  # type: ignore[type-arg]
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@dataclass(frozen=True)
class Usage:
    """A process's CPU seconds so far and its resident memory now."""

    cpu_seconds: float
    rss_mb: float
    at: float


def usage(pid: int) -> Usage:
    """Read utime+stime from /proc/<pid>/stat and VmRSS from its status."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after it are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return Usage(cpu, rss_kb / 1024, time.monotonic())
