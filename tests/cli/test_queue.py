"""schedule, messages, cancel, retry, consent, sweep, status and daemon."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from daemon.queue import Queue, build_huey
from store.db import close_database, open_database
from store.home import resolve_home
from store.lifecycle import claim_message, mark_failed
from store.models import ScheduledMessage
from tests.cli.conftest import days_ahead, query, write_csv

UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def patients(cli, desk_home, tmp_path):  # type: ignore[no-untyped-def]
    """Maria (P1) and Tom (P2) have agreed to texts; Ava (P3) has not."""
    path = write_csv(
        tmp_path / "patients.csv",
        "Patient ID,First Name,Last Name,Mobile,SMS Consent",
        "P1,Maria,Lopez,(212) 555-0134,yes",
        "P2,Tom,Baker,212.555.0135,yes",
        "P3,Ava,Thompson,718-555-0163,no",
    )
    assert cli("--home", desk_home, "import", "patients", path).code == 0
    return {
        ext: pid for pid, ext in query(desk_home, "select id, external_id from patient")
    }


def schedule(cli, home, *args):  # type: ignore[no-untyped-def]
    return cli("--home", home, "schedule", *args)


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_schedule_queues_a_pending_message_and_a_wakeup_task(cli, desk_home, patients):
    done = schedule(
        cli, desk_home, "--to", "212-555-0134", "--at", in_hours(3),
        "--body", "Your crown is ready to fit.",
    )  # fmt: skip

    assert done.code == 0, done.err
    message_id = int(re.search(r"message (\d+)", done.out).group(1))
    assert query(
        desk_home, "select status, to_number, kind from scheduled_message where id = ?",
        message_id,
    ) == [("pending", "+12125550134", "manual")]  # fmt: skip
    queue = Queue(build_huey(resolve_home(desk_home)))
    tasks = [task.args for task in queue.huey.pending()]
    assert (message_id,) in tasks


def test_schedule_reads_practice_time_and_offsets(cli, desk_home, patients):
    day = days_ahead(5)
    local = schedule(
        cli, desk_home, "--patient", patients["P1"], "--at", f"{day} 10:30",
        "--body", "hi",
    )  # fmt: skip
    offset = schedule(
        cli, desk_home, "--patient", patients["P1"], "--at", f"{day}T10:30:00+00:00",
        "--body", "hi",
    )  # fmt: skip

    assert local.code == 0 and offset.code == 0
    asked = query(desk_home, "select scheduled_for from scheduled_message order by id")
    assert asked[0][0][11:16] in ("15:30", "14:30")  # New York, winter or summer
    assert asked[1][0][11:16] == "10:30"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--to", "(212) 555-0134", "--at", "2020-01-01 09:00"], "past"),
        (["--to", "718-555-0163", "--at", "+1h"], "agreed to texts"),
        (["--to", "212 555 0199", "--at", "+1h"], "Add the patient"),
        (["--to", "+44 20 7946 0958", "--at", "+1h"], "landline"),
        (["--to", "(212) 555-0134", "--at", "tomorrow"], "not a date and time"),
        (["--patient", "999", "--at", "+1h"], "no patient 999"),
    ],
)
def test_schedule_refuses_bad_input_with_exit_2(cli, desk_home, patients, args, says):
    done = schedule(cli, desk_home, *args, "--body", "Hello")

    assert done.code == 2
    assert says in done.err
    assert query(desk_home, "select count(*) from scheduled_message") == [(0,)]


def test_messages_json_has_every_field_in_utc(cli, desk_home, patients):
    schedule(cli, desk_home, "--patient", patients["P2"], "--at", "+2h", "--body", "x")

    done = cli("--home", desk_home, "messages", "--json", "--status", "pending")

    assert done.code == 0, done.err
    [record] = json.loads(done.out)
    for key in (
        "id", "status", "kind", "to", "scheduled_at", "sent_at", "provider_sid",
        "last_error", "appointment_id", "due_at", "attempts", "patient_id",
        "last_error_code",
    ):  # fmt: skip
        assert key in record, key
    assert record["to"] == "+12125550135"
    assert UTC_Z.match(record["scheduled_at"]) and UTC_Z.match(record["due_at"])
    assert record["sent_at"] is None and record["appointment_id"] is None

    table = cli("--home", desk_home, "messages")
    assert "(212) 555-0135" in table.out and "pending" in table.out
    none = cli("--home", desk_home, "messages", "--status", "sent", "--json")
    assert json.loads(none.out) == []


def test_cancel_and_retry(cli, desk_home, patients):
    schedule(cli, desk_home, "--patient", patients["P1"], "--at", "+2h", "--body", "a")
    schedule(cli, desk_home, "--patient", patients["P1"], "--at", "now", "--body", "b")
    first, second = [row[0] for row in query(
        desk_home, "select id from scheduled_message order by id")]  # fmt: skip

    assert cli("--home", desk_home, "cancel", first).code == 0
    assert query(
        desk_home, "select status from scheduled_message where id = ?", first
    ) == [("cancelled",)]
    again = cli("--home", desk_home, "cancel", first)
    assert again.code == 1
    assert "only pending" in again.err
    assert cli("--home", desk_home, "cancel", 999).code == 2

    _fail_message(desk_home, second)
    assert cli("--home", desk_home, "retry", first).code == 1
    done = cli("--home", desk_home, "retry", second)
    assert done.code == 0, done.err
    assert query(
        desk_home, "select status, attempts from scheduled_message where id = ?", second
    ) == [("pending", 0)]


def _fail_message(home, message_id: int) -> None:  # type: ignore[no-untyped-def]
    open_database(home / "frontdesk.db")
    try:
        claimed = claim_message(message_id, datetime.now(UTC) + timedelta(minutes=5))
        assert claimed is not None
        mark_failed(claimed, "30003", "Unreachable destination handset.")
        assert ScheduledMessage.get_by_id(message_id).status == "failed"
    finally:
        close_database()


def test_consent_grant_and_revoke(cli, desk_home, patients):
    ava = patients["P3"]
    refused = schedule(cli, desk_home, "--patient", ava, "--at", "+1h", "--body", "x")
    assert refused.code == 2

    done = cli(
        "--home", desk_home, "consent", "grant", ava, "--source", "written_form",
        "--note", "signed at the desk",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert (
        schedule(cli, desk_home, "--patient", ava, "--at", "+1h", "--body", "x").code
        == 0
    )

    done = cli("--home", desk_home, "consent", "revoke", ava, "--source", "stop_reply")
    assert done.code == 0, done.err
    assert query(
        desk_home,
        "select granted, source from consent_record where patient_id = ? order by id",
        ava,
    ) == [(1, "written_form"), (0, "stop_reply")]
    assert query(
        desk_home, "select status from scheduled_message where patient_id = ?", ava
    ) == [("cancelled",)]

    bad = cli("--home", desk_home, "consent", "grant", ava, "--source", "psychic")
    assert bad.code == 2 and "front_desk_verbal" in bad.err
    assert (
        cli("--home", desk_home, "consent", "grant", 999, "--source", "import").code
        == 2
    )


def test_status_exits_1_until_the_daemon_runs(cli, desk_home, patients):
    never = cli("--home", desk_home, "status")
    assert never.code == 1
    assert "never run" in never.out

    as_json = cli("--home", desk_home, "status", "--json")
    assert as_json.code == 1
    report = json.loads(as_json.out)
    assert report["daemon"]["ok"] is False
    assert report["queue"]["pending"] == 0

    schedule(cli, desk_home, "--patient", patients["P1"], "--at", "now", "--body", "x")
    swept = cli("--home", desk_home, "sweep")
    assert swept.code == 0, swept.err
    assert "sent 1" in swept.out
    assert query(desk_home, "select status from scheduled_message") == [("sent",)]
    assert (desk_home / "outbox.jsonl").exists()

    # A one-off sweep is not the daemon: status still says it never ran.
    after = cli("--home", desk_home, "status")
    assert after.code == 1
    assert "never run" in after.out


def test_daemon_prints_its_unit(cli, desk_home):
    done = cli("--home", desk_home, "daemon", "--print-unit")

    assert done.code == 0, done.err
    assert "ExecStart=" in done.out
    assert str(desk_home) in done.out
    assert " daemon" in done.out

    system = cli("--home", desk_home, "daemon", "--print-unit", "--system")
    assert system.code == 0, system.err
    assert f"FRONTDESK_HOME={desk_home}" in system.out

    assert cli("--home", desk_home, "daemon", "--system").code == 2


def test_a_number_shared_by_two_patients_asks_which_one(
    cli, desk_home, patients, tmp_path
):
    family = write_csv(
        tmp_path / "family.csv",
        "Patient ID,First Name,Last Name,Mobile,SMS Consent",
        "P4,Annie,Lopez,(212) 555-0134,yes",
    )
    assert cli("--home", desk_home, "import", "patients", family).code == 0

    done = schedule(
        cli, desk_home, "--to", "212 555 0134", "--at", in_hours(3), "--body", "Hi",
    )  # fmt: skip

    assert done.code == 2
    assert "2 patients" in done.err
    assert f"--patient {patients['P1']}" in done.err
    assert "Annie Lopez" in done.err
    assert query(desk_home, "select count(*) from scheduled_message") == [(0,)]
