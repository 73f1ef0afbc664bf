"""The main job from an empty home: init, import, daemon, reminders on time.

Every step runs the real `frontdesk` command in a subprocess; the daemon sends
through the real twilio client to a fake Twilio on 127.0.0.1.
"""

import csv
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from store.db import close_database, database, open_database
from store.models import Appointment, MessageStatus, Patient, ScheduledMessage
from tests.daemon.daemon_process import (
    REPO,
    daemon_env,
    start_daemon,
    stop_daemon,
    wait_until_ready,
    write_config,
)
from tests.e2e.data import write_appointments_csv

ZONE = ZoneInfo("America/New_York")


def frontdesk(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "--home", str(home), *args],
        cwd=REPO,
        env=daemon_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_export(path: Path, rows: list[dict]) -> None:
    """A later export from the practice system: one ISO start per row."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "Appointment ID",
                "Patient ID",
                "First Name",
                "Last Name",
                "Cell",
                "starts_at",
                "Duration",
                "Provider",
                "Status",
                "SMS Opt In",
            ]
        )
        for row in rows:
            writer.writerow(
                [
                    row["external_id"],
                    row["patient_external_id"],
                    row["first_name"],
                    row["last_name"],
                    row["phone"],
                    row["starts_local"].isoformat(timespec="seconds"),
                    row["duration_minutes"],
                    row["provider"],
                    row["status_text"],
                    row["consent_text"],
                ]
            )


def local(instant: datetime) -> datetime:
    return instant.astimezone(ZONE).replace(tzinfo=None)


@pytest.fixture
def db_view(tmp_path):  # type: ignore[no-untyped-def]
    """Read the home's database from the test process."""
    opened = []

    def open_home(home: Path) -> None:
        open_database(home / "frontdesk.db")
        opened.append(home)

    yield open_home
    if opened:
        close_database()
        database.initialize(None)


def test_from_an_empty_home_to_reminders_on_time(tmp_path, fake_twilio, db_view):
    home = tmp_path / "home"

    # 1. init
    done = frontdesk(
        home, "init", "--practice", "Harbour Dental", "--timezone", str(ZONE)
    )
    assert done.returncode == 0, done.stderr

    # 2. import ~200 messy appointments; the bad rows block the whole file.
    first_day = (datetime.now(ZONE) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None
    )
    export = tmp_path / "appointments.csv"
    write_appointments_csv(export, start_local=first_day, count=200, bad_rows=True)
    refused = frontdesk(home, "import", "appointments", str(export))

    assert refused.returncode == 2
    for line, column in (
        (15, "Mobile Phone"),
        (59, "Date"),
        (103, "Mobile Phone"),
        (152, "Status"),
    ):
        assert f"line {line}" in refused.stderr, refused.stderr
        assert column in refused.stderr
    assert "landline" in refused.stderr
    db_view(home)
    assert Appointment.select().count() == 0
    assert Patient.select().count() == 0

    rows = write_appointments_csv(export, start_local=first_day, count=200)
    imported = frontdesk(home, "import", "appointments", str(export))
    assert imported.returncode == 0, imported.stderr
    assert Appointment.select().count() == 200
    assert frontdesk(home, "import", "appointments", str(export)).returncode == 0
    assert Appointment.select().count() == 200
    au = [r for r in rows if r["phone"].startswith("+61")]
    assert au and Patient.get(Patient.external_id == au[0]["patient_external_id"])

    # 3. the twilio gateway, against the fake (no quiet hours: this test runs
    # at whatever hour CI does; quiet hours have their own tests).
    write_config(home, fake_twilio, practice='name = "Harbour Dental"')

    # 4. the daemon, as a real subprocess.
    daemon = start_daemon(home)
    try:
        wait_until_ready(home)

        # 5. A later export moves appointments so their 24 h and 2 h reminders
        # fall due within 30 s; a few are then cancelled or moved again.
        live = [
            r for r in rows if r["status"] == "confirmed" and r["sms_consent"] is True
        ]
        by_patient: dict[str, dict] = {}
        for row in live:
            by_patient.setdefault(row["patient_external_id"], row)
        chosen = list(by_patient.values())[:26]
        two_hour, day_before = chosen[:12], chosen[12:18]
        to_cancel, to_move = chosen[18:22], chosen[22:26]

        base = datetime.now(UTC) + timedelta(seconds=8)
        for i, row in enumerate(two_hour + to_cancel + to_move):
            row["starts_local"] = local(base + timedelta(hours=2, seconds=i))
        for i, row in enumerate(day_before):
            row["starts_local"] = local(base + timedelta(hours=24, seconds=2 * i))
        moved = tmp_path / "moved.csv"
        write_export(moved, two_hour + day_before + to_cancel + to_move)
        done = frontdesk(home, "import", "appointments", str(moved))
        assert done.returncode == 0, done.stderr

        for row in to_cancel:
            row["status_text"] = "Cancelled"
        for row in to_move:
            row["starts_local"] = local(base + timedelta(hours=5))
        again = tmp_path / "again.csv"
        write_export(again, to_cancel + to_move)
        done = frontdesk(home, "import", "appointments", str(again))
        assert done.returncode == 0, done.stderr
        assert datetime.now(UTC) < base, "the imports took too long to test timing"

        expected = len(two_hour) + len(day_before)
        fake_twilio.wait_for(expected, timeout=60)
        time.sleep(3)  # room for a duplicate or a stale reminder to show up
    finally:
        assert stop_daemon(daemon) == 0

    # 6. each live reminder reached the fake once, within 2 s of its time.
    arrivals = {m.sid: m for m in fake_twilio.messages}
    assert len(fake_twilio.messages) == expected
    assert len(arrivals) == expected
    sent_rows = list(
        ScheduledMessage.select().where(ScheduledMessage.status == MessageStatus.SENT)
    )
    assert len(sent_rows) == expected
    for row in sent_rows:
        arrival = arrivals[row.provider_sid]
        lateness = arrival.received_at - row.due_at.timestamp()
        assert -0.05 <= lateness <= 2.0, f"reminder {row.id}: {lateness:.2f} s late"
        appointment = Appointment.get_by_id(row.appointment_id)
        assert appointment.status == "confirmed"
        assert (
            appointment.starts_at - timedelta(seconds=row.reminder_offset) == row.due_at
        )
        when = appointment.starts_at.astimezone(ZONE)
        assert f"{when.hour % 12 or 12}:{when:%M}" in arrival.body

    sent_for = {
        Appointment.get_by_id(r.appointment_id).external_id: r.reminder_offset
        for r in sent_rows
    }
    assert {r["external_id"] for r in two_hour} | {
        r["external_id"] for r in day_before
    } == set(sent_for)
    assert all(sent_for[r["external_id"]] == 2 * 3600 for r in two_hour)
    assert all(sent_for[r["external_id"]] == 24 * 3600 for r in day_before)
    for row in to_cancel + to_move:
        assert row["external_id"] not in sent_for

    listing = frontdesk(home, "messages", "--status", "sent", "--json")
    assert listing.returncode == 0, listing.stderr
    listed = json.loads(listing.stdout)
    assert {m["provider_sid"] for m in listed} == set(arrivals)
    assert all(m["sent_at"].endswith("Z") for m in listed)
