"""The daemon at rest: resident memory and CPU of an idle `frontdesk daemon`,
beside an idle Python that has imported the same libraries."""

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import processes
from bench.report import Figure
from bench.seed import add_patients, close_home, open_home, twilio_sms, write_config
from tests.fakes.fake_twilio import FakeTwilio

NAME = "idle daemon"

_IMPORTS_ONLY = (
    "import time, daemon.service, daemon.gateways, twilio.rest, huey; time.sleep(3600)"
)


def run(workdir: Path, *, quick: bool) -> tuple[list[Figure], list[str]]:
    window = 10.0 if quick else 60.0
    home = workdir / "idle"

    with FakeTwilio() as fake:
        write_config(home, sms=twilio_sms(fake.base_url))
        practice = open_home(home)
        add_patients(practice, 100, datetime.now(UTC))
        close_home()

        daemon = processes.start_daemon(home)
        bare = subprocess.Popen(
            [sys.executable, "-c", _IMPORTS_ONLY],
            cwd=processes.REPO,
            env=processes.child_env(),
        )
        try:
            processes.wait_until_ready(home)
            # Let start-up work (imports, first sweep) finish first.
            time.sleep(2)
            before = processes.usage(daemon.pid)
            bare_before = processes.usage(bare.pid)
            peak = 0.0
            deadline = time.monotonic() + window
            while time.monotonic() < deadline:
                time.sleep(min(5.0, max(deadline - time.monotonic(), 0)))
                peak = max(peak, processes.usage(daemon.pid).rss_mb)
            after = processes.usage(daemon.pid)
            bare_after = processes.usage(bare.pid)
        finally:
            processes.stop(daemon)
            bare.kill()
            bare.wait()

    elapsed = after.at - before.at
    cpu = (after.cpu_seconds - before.cpu_seconds) / elapsed * 100
    bare_cpu = (bare_after.cpu_seconds - bare_before.cpu_seconds) / elapsed * 100
    figures = [
        Figure(
            NAME,
            "resident memory (VmRSS, peak)",
            peak,
            "MB",
            reference=bare_after.rss_mb,
            reference_label="idle python, same imports",
            target="≤ 80 MB",
            ok=peak <= 80,
        ),
        Figure(
            NAME,
            f"CPU over {window:.0f} s",
            cpu,
            "%",
            reference=bare_cpu,
            reference_label="idle python",
            target="< 1 %",
            ok=cpu < 1,
        ),
    ]
    notes = [
        f"idle daemon: `frontdesk daemon` (Twilio gateway, 4 workers) with "
        f"nothing due, sampled from /proc/<pid> over {window:.0f} s after its "
        "first sweep: utime+stime from stat, VmRSS from status. Reference: a "
        "python process that imported daemon.service, twilio and huey and "
        "sleeps, sampled over the same window."
    ]
    return figures, notes
