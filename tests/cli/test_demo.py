"""`frontdesk demo`: a ready practice whose texts fall due within the minute."""

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from store.settings import load_settings
from tests.cli.conftest import REPO, query


def test_demo_sets_up_a_practice_with_texts_due_within_the_minute(cli, tmp_path):
    home = tmp_path / "demo"

    done = cli("demo", "--home", home, "--no-daemon")

    assert done.code == 0, done.err
    assert f"tail -F {home / 'outbox.jsonl'}" in done.out
    assert f"frontdesk --home {home} messages" in done.out
    settings = load_settings(home / "config.toml")
    assert settings.sending.quiet_hours is None
    assert settings.sms.backend == "outbox"
    assert query(home, "select name, timezone from practice") == [
        ("Harbour Dental", "America/New_York")
    ]
    assert query(home, "select count(*) from appointment")[0][0] >= 30
    assert query(home, "select count(*) from patient")[0][0] >= 25

    soon = (datetime.now(UTC) + timedelta(seconds=75)).strftime("%Y-%m-%d %H:%M:%S")
    due = query(
        home,
        "select kind, reminder_offset from scheduled_message "
        "where status = 'pending' and due_at <= ? order by due_at",
        soon,
    )
    assert sorted(due, key=str) == sorted(
        [("reminder", 7200)] * 3 + [("reminder", 86400), ("manual", None)], key=str
    )


def test_demo_again_refreshes_the_same_home(cli, tmp_path):
    home = tmp_path / "demo"
    assert cli("demo", "--home", home, "--no-daemon").code == 0
    patients = query(home, "select count(*) from patient")

    done = cli("demo", "--home", home, "--no-daemon")

    assert done.code == 0, done.err
    assert "Refreshing the demo home" in done.out
    assert query(home, "select count(*) from patient") == patients


def test_demo_will_not_touch_a_folder_that_is_not_a_demo_home(cli, tmp_path, desk_home):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("buy milk")

    for folder in (tmp_path / "notes", desk_home):
        done = cli("demo", "--home", folder, "--no-daemon")
        assert done.code == 2
        assert "not a demo home" in done.err
    assert (tmp_path / "notes" / "todo.txt").read_text() == "buy milk"


def test_demo_ignores_frontdesk_home(cli, tmp_path, monkeypatch, desk_home):
    monkeypatch.setenv("FRONTDESK_HOME", str(desk_home))
    monkeypatch.chdir(tmp_path)

    done = cli("demo", "--no-daemon")

    assert done.code == 0, done.err
    assert (tmp_path / "frontdesk-demo" / "frontdesk.db").exists()
    assert query(desk_home, "select count(*) from patient") == [(0,)]


@pytest.mark.slow
def test_the_demo_daemon_writes_the_due_texts_to_the_outbox(tmp_path):
    home = tmp_path / "demo"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--home", str(home)],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        outbox = home / "outbox.jsonl"
        deadline = time.monotonic() + 90
        lines: list[str] = []
        while time.monotonic() < deadline and len(lines) < 5:
            time.sleep(1)
            if outbox.exists():
                lines = outbox.read_text().splitlines()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)

    assert len(lines) >= 5, err
    bodies = [json.loads(line)["body"] for line in lines]
    assert any("new-patient forms" in body for body in bodies)
    assert any("reminder of your appointment" in body for body in bodies)
