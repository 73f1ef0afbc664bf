"""`frontdesk import`: messy exports, every bad row reported, all or nothing."""

import pytest

from tests.cli.conftest import days_ahead, query, write_csv

PATIENTS_HEADER = "Patient ID,First Name,Last Name,Mobile Phone,SMS Opt In"
APPOINTMENTS_HEADER = (
    "Appointment ID,Patient ID,Patient First Name,Patient Last Name,cell phone,"
    "Date,Time,Length,Doctor,Status,Consent"
)


def messy_patients(tmp_path, *extra):  # type: ignore[no-untyped-def]
    return write_csv(
        tmp_path / "patients.csv",
        PATIENTS_HEADER,
        "P1,Maria,Lopez,(212) 555-0134,yes",
        "P2,Tom,Baker,212.555.0135,Y",
        "P3,Priya,Raman,1-415-555-0199,true",
        "P4,Chloe,Dubois,+61 491 570 006,1",
        "P5,Sam,Levi,  617 555-0112 ,no",
        "P6,Ava,Thompson,718-555-0163,",
        *extra,
    )


def test_patients_with_messy_numbers_are_imported_in_e164(cli, desk_home, tmp_path):
    done = cli("--home", desk_home, "import", "patients", messy_patients(tmp_path))

    assert done.code == 0, done.err
    assert "6 created" in done.out
    assert query(desk_home, "select external_id, phone from patient order by id") == [
        ("P1", "+12125550134"),
        ("P2", "+12125550135"),
        ("P3", "+14155550199"),
        ("P4", "+61491570006"),
        ("P5", "+16175550112"),
        ("P6", "+17185550163"),
    ]
    granted = query(
        desk_home,
        "select p.external_id, c.source from consent_record c "
        "join patient p on p.id = c.patient_id where c.granted order by p.id",
    )
    assert granted == [("P1", "import"), ("P2", "import"), ("P3", "import"),
                       ("P4", "import")]  # fmt: skip


def test_every_bad_row_is_reported_and_nothing_is_written(cli, desk_home, tmp_path):
    day = days_ahead(10)
    bad = write_csv(
        tmp_path / "appointments.csv",
        APPOINTMENTS_HEADER,
        f"A1,P1,Maria,Lopez,(212) 555-0134,{day},09:30,30,Dr. Chen,Confirmed,yes",
        f"A2,P2,Tom,Baker,+44 20 7946 0958,{day},10:00,30,Dr. Chen,Confirmed,yes",
        "A3,P3,Priya,Raman,1-415-555-0199,2026-02-30,10:30,30,Dr. Chen,Conf,yes",
        f"A4,P4,Ann,Wu,12345,{day},11:00,30,Dr. Chen,Scheduled,no",
        f"A5,P5,Eve,Ng,212 555 0177,{day},11:30,30,Dr. Chen,Perhaps,yes",
    )

    done = cli("--home", desk_home, "import", "appointments", bad)

    assert done.code == 2
    assert "Traceback" not in done.err
    assert (
        "line 3, column \"cell phone\": '+44 20 7946 0958' is a landline "
        "(fixed line) and cannot receive SMS." in done.err
    )
    assert "line 4, column \"Date\": '2026-02-30' is not a real date" in done.err
    assert "line 5, column \"cell phone\": '12345' is not a valid" in done.err
    assert "line 6, column \"Status\": 'Perhaps'" in done.err
    assert "nothing was imported" in done.err
    for table in ("patient", "appointment", "consent_record", "scheduled_message"):
        assert query(desk_home, f"select count(*) from {table}") == [(0,)], table

    fixed = write_csv(
        tmp_path / "fixed.csv",
        APPOINTMENTS_HEADER,
        f"A1,P1,Maria,Lopez,(212) 555-0134,{day},09:30,30,Dr. Chen,Confirmed,yes",
        f"A2,P2,Tom,Baker,+61 491 570 156,{day},10:00,30,Dr. Chen,Confirmed,yes",
        f"A3,P3,Priya,Raman,1-415-555-0199,{day},10:30,30,Dr. Chen,Conf,yes",
        f"A4,P4,Ann,Wu,212-555-0181,{day},11:00,30,Dr. Chen,Scheduled,no",
        f"A5,P5,Eve,Ng,212 555 0177,{day},11:30,30,Dr. Chen,cxl,yes",
    )
    done = cli("--home", desk_home, "import", "appointments", fixed)
    assert done.code == 0, done.err
    assert "5 created" in done.out
    assert query(desk_home, "select count(*) from appointment") == [(5,)]
    # Confirmed with consent: A1, A2, A3, each with a 24 h and a 2 h reminder.
    assert query(
        desk_home, "select count(*) from scheduled_message where status = 'pending'"
    ) == [(6,)]

    again = cli("--home", desk_home, "import", "appointments", fixed)
    assert again.code == 0, again.err
    assert "0 created, 0 updated, 5 unchanged" in again.out
    assert query(desk_home, "select count(*) from scheduled_message") == [(6,)]


def test_a_later_export_cancels_and_moves_reminders(cli, desk_home, tmp_path):
    day = days_ahead(10)
    first = write_csv(
        tmp_path / "monday.csv",
        APPOINTMENTS_HEADER,
        f"A1,P1,Maria,Lopez,(212) 555-0134,{day},09:30,30,Dr. Chen,Confirmed,yes",
        f"A2,P2,Tom,Baker,212.555.0135,{day},13:00,30,Dr. Chen,Confirmed,yes",
    )
    assert cli("--home", desk_home, "import", "appointments", first).code == 0
    before = dict(
        query(
            desk_home,
            "select m.reminder_offset || a.external_id, m.due_at from "
            "scheduled_message m join appointment a on a.id = m.appointment_id",
        )
    )

    later = write_csv(
        tmp_path / "tuesday.csv",
        APPOINTMENTS_HEADER,
        f"A1,P1,Maria,Lopez,(212) 555-0134,{day},09:30,30,Dr. Chen,Cancelled,yes",
        f"A2,P2,Tom,Baker,212.555.0135,{day},14:00,30,Dr. Chen,Confirmed,yes",
    )
    done = cli("--home", desk_home, "import", "appointments", later)

    assert done.code == 0, done.err
    assert "0 created, 2 updated" in done.out
    rows = query(
        desk_home,
        "select a.external_id, m.reminder_offset, m.status, m.due_at from "
        "scheduled_message m join appointment a on a.id = m.appointment_id "
        "order by a.external_id, m.reminder_offset",
    )
    assert [(r[0], r[2]) for r in rows] == [
        ("A1", "cancelled"),
        ("A1", "cancelled"),
        ("A2", "pending"),
        ("A2", "pending"),
    ]
    a2_24h = [r[3] for r in rows if r[0] == "A2" and r[1] == 86400][0]
    assert a2_24h > before["86400A2"]
    assert a2_24h[11:13] != before["86400A2"][11:13]


def test_a_dry_run_writes_nothing(cli, desk_home, tmp_path):
    done = cli(
        "--home", desk_home, "import", "patients", "--dry-run",
        messy_patients(tmp_path),
    )  # fmt: skip

    assert done.code == 0, done.err
    assert "dry run" in done.out
    assert "6 created" in done.out
    assert query(desk_home, "select count(*) from patient") == [(0,)]
    assert query(desk_home, "select count(*) from audit_event") == [(0,)]


def test_one_start_column_and_a_date_format(cli, desk_home, tmp_path):
    day = days_ahead(12)
    us_day = f"{day[5:7]}/{day[8:10]}/{day[0:4]}"
    path = write_csv(
        tmp_path / "us.csv",
        "id,Patient ID,given name,surname,mobile,Appointment Time,duration,stylist",
        f"B1,P1,Maria,Lopez,(212) 555-0134,{us_day} 9:30 AM,45,Kim",
        f"B2,P2,Tom,Baker,212.555.0135,{us_day} 2:15 PM,1h,Kim",
    )

    plain = cli("--home", desk_home, "import", "appointments", path)
    assert plain.code == 2
    assert "--date-format" in plain.err

    done = cli(
        "--home", desk_home, "import", "appointments", path,
        "--date-format", "%m/%d/%Y %I:%M %p",
    )  # fmt: skip
    assert done.code == 0, done.err
    rows = query(
        desk_home,
        "select external_id, duration_minutes, provider, status from appointment "
        "order by external_id",
    )
    assert rows == [("B1", 45, "Kim", "booked"), ("B2", 60, "Kim", "booked")]


def test_a_confirmed_visit_already_over_is_left_out_with_a_warning(
    cli, desk_home, tmp_path
):
    # A day sheet exported at noon still calls the morning's visits confirmed.
    past = days_ahead(-3)
    path = write_csv(
        tmp_path / "past.csv",
        APPOINTMENTS_HEADER,
        f"C1,P1,Maria,Lopez,(212) 555-0134,{past},09:30,30,Dr. Chen,Completed,yes",
        f"C2,P2,Tom,Baker,212.555.0135,{past},10:00,30,Dr. Chen,No Show,yes",
        f"C3,P3,Ann,Wu,212.555.0136,{past},10:30,30,Dr. Chen,Confirmed,yes",
    )

    done = cli("--home", desk_home, "import", "appointments", path)

    assert done.code == 0, done.err
    assert "note, line 4" in done.out
    assert "already passed" in done.out
    assert "left out, already over: 1" in done.out
    rows = query(desk_home, "select external_id from appointment order by 1")
    assert rows == [("C1",), ("C2",)]
    reminders = query(desk_home, "select count(*) from scheduled_message")
    assert reminders == [(0,)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"first_name,phone\nJos\xe9,212 555 0134\n", "line 2 is not UTF-8"),
        (b"first_name,phone\nJo\x00,212 555 0134\n", "NUL"),
        (b"PK\x03\x04rest-of-a-zip", "spreadsheet"),
        (b"first_name,phone\nJo,212 555 0134,extra\n", "has 3 values"),
        (b"name,telephone\nJo,212 555 0134\n", 'no "phone" column'),
        (b"first_name,phone\n" + b"J" * 600 + b",212 555 0134\n", "at most 500"),
        (b'first_name,phone\n"Jo' + b"o" * 200_000 + b"\n", "cannot be read as CSV"),
        (b"", "empty"),
    ],
)
def test_a_broken_file_is_one_clear_error_and_nothing_is_written(
    cli, desk_home, tmp_path, content, expected
):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)

    done = cli("--home", desk_home, "import", "patients", path)

    assert done.code == 2
    assert expected in done.err
    assert "Traceback" not in done.err
    assert query(desk_home, "select count(*) from patient") == [(0,)]


def test_a_missing_column_names_the_headers_found(cli, desk_home, tmp_path):
    path = write_csv(tmp_path / "x.csv", "First Name,Last Name,Notes", "Jo,Smith,hi")

    done = cli("--home", desk_home, "import", "patients", path)

    assert done.code == 2
    assert '"First Name", "Last Name", "Notes"' in done.err


def test_an_unknown_file_is_a_clear_error(cli, desk_home, tmp_path):
    done = cli("--home", desk_home, "import", "patients", tmp_path / "nope.csv")

    assert done.code == 2
    assert "cannot be opened" in done.err
