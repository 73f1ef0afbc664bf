"""CLI fixtures: run `frontdesk` in-process or as a subprocess on a fresh home."""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from cli.main import main

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    code: int
    out: str
    err: str


Run = Callable[..., Outcome]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Where the test's practice lives; not created until `init` runs."""
    return tmp_path / "desk"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `frontdesk ARGS...` in this process; returns status and output."""

    def run(*argv: object) -> Outcome:
        capsys.readouterr()
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return Outcome(code, out, err)

    return run


@pytest.fixture
def desk_home(cli: Run, home: Path) -> Path:
    """A home set up with `frontdesk init` for Harbour Dental, New York."""
    done = cli(
        "--home", home, "init", "--practice", "Harbour Dental",
        "--timezone", "America/New_York",
    )  # fmt: skip
    assert done.code == 0, done.err
    return home


def query(home: Path, sql: str, *params: object) -> list[tuple]:
    """Read the home's database directly, the way another process would."""
    with closing(sqlite3.connect(home / "frontdesk.db")) as conn:
        return conn.execute(sql, params).fetchall()


def run_frontdesk(
    *argv: object, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m cli.main ARGS...` in a new process."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *(str(arg) for arg in argv)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def days_ahead(days: int) -> str:
    """A date this many days from today, as an export writes it."""
    return (date.today() + timedelta(days=days)).isoformat()


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
