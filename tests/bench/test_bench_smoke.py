"""The quick benchmarks run from the one documented command and print their
table; no figure is asserted, since the machine's speed is not the code's."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_history_and_throughput_print_a_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "history",
            "--only",
            "throughput",
            "--results",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    header = done.stdout.splitlines()[0].split()
    assert header[:2] == ["name", "figure"]
    assert "history: sweep of 100 due" in done.stdout
    assert "throughput: each row sent exactly once" in done.stdout

    saved = json.loads(next(tmp_path.glob("bench-*-quick.json")).read_text())
    assert {f["bench"] for f in saved["figures"]} == {"history", "throughput"}
    assert all(f["verdict"] in ("ok", "MISS", "info") for f in saved["figures"])
    # Not a timing: the drain must send every row once, however fast.
    once = [f for f in saved["figures"] if f["name"] == "each row sent exactly once"]
    assert [f["verdict"] for f in once] == ["ok"]
    assert not (tmp_path / "work").exists()
