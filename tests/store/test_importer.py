"""The CSV importer: header names, cell rules, matching, consent and DST."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store.consent import grant_consent, latest_consent, revoke_consent
from store.errors import InvalidInput
from store.import_cells import practice_time_to_utc
from store.importer import ImportFileError, import_appointments, import_patients
from store.models import (
    Appointment,
    ConsentRecord,
    ConsentSource,
    Patient,
    ScheduledMessage,
)
from store.patients import add_patient
from tests.e2e.data import write_appointments_csv

NEW_YORK = ZoneInfo("America/New_York")


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def appointments(practice, settings, now, *lines, **options):
    return import_appointments(
        practice, csv_bytes(*lines), settings=settings, actor="import", now=now,
        **options,
    )  # fmt: skip


def patients(practice, settings, now, *lines, **options):
    return import_patients(
        practice, csv_bytes(*lines), settings=settings, actor="import", now=now,
        **options,
    )  # fmt: skip


@pytest.mark.parametrize(
    "header",
    [
        "first_name,last_name,phone,external_id,sms_consent",
        "First Name,Last Name,Mobile Phone,ID,Consent",
        "Patient First Name,Patient Last Name,cell phone,MRN,SMS Opt In",
        "firstname,surname,Phone Number,chart number,sms opt-in",
        "Given Name,Family Name,CELL,Patient_ID,consent",
    ],
)
def test_common_export_headers_are_recognised(practice, settings, now, header):
    result = patients(practice, settings, now, header, "Maria,Lopez,2125550134,P1,y")

    assert result.ok, result.errors
    patient = Patient.get()
    assert (patient.first_name, patient.last_name, patient.external_id) == (
        "Maria",
        "Lopez",
        "P1",
    )
    assert latest_consent(patient).source == ConsentSource.IMPORT


def test_a_full_name_column_is_split(practice, settings, now):
    result = patients(
        practice, settings, now, "Patient Name,Phone", '"Lopez, Maria",2125550134',
        "Tom Baker,2125550135",
    )  # fmt: skip

    assert result.ok, result.errors
    names = [(p.first_name, p.last_name) for p in Patient.select().order_by(Patient.id)]
    assert names == [("Maria", "Lopez"), ("Tom", "Baker")]


def test_semicolons_and_a_bom_are_read(practice, settings, now):
    data = "\ufefffirst name;phone\nMaria;212 555 0134\n".encode()

    result = import_patients(practice, data, settings=settings, actor="x", now=now)

    assert result.ok and result.created == 1


def test_reimport_matches_on_external_id_and_updates_changes(practice, settings, now):
    header = "ID,First Name,Last Name,Phone"
    patients(practice, settings, now, header, "P1,Maria,Lopez,2125550134")

    same = patients(practice, settings, now, header, "P1,Maria,Lopez,(212) 555-0134")
    moved = patients(practice, settings, now, header, "P1,Maria,Lopez-Diaz,2125550188")

    assert (same.created, same.unchanged) == (0, 1)
    assert (moved.updated, Patient.select().count()) == (1, 1)
    assert Patient.get().phone == "+12125550188"


def test_a_patient_added_at_the_desk_is_adopted_not_duplicated(practice, settings, now):
    add_patient(
        practice, first_name="Maria", last_name="Lopez", phone="2125550134",
        actor="desk", now=now,
    )  # fmt: skip

    result = patients(
        practice, settings, now, "MRN,First,Last,Phone", "M-7,Maria,Lopez,2125550134"
    )

    assert result.ok and (result.created, result.updated) == (0, 1)
    assert [p.external_id for p in Patient.select()] == ["M-7"]


def test_no_does_not_revoke_and_yes_does_not_undo_a_stop(practice, settings, now):
    header = "ID,First Name,Phone,Consent"
    patients(
        practice, settings, now, header, "P1,Maria,2125550134,", "P2,Tom,2125550135,"
    )
    maria, tom = Patient.select().order_by(Patient.id)
    grant_consent(
        practice, maria.id, source="written_form", actor="desk", settings=settings,
        now=now,
    )  # fmt: skip
    revoke_consent(
        practice, tom.id, source="stop_reply", actor="system", settings=settings,
        now=now,
    )  # fmt: skip

    result = patients(
        practice, settings, now + timedelta(minutes=1), header,
        "P1,Maria,2125550134,no", "P2,Tom,2125550135,yes",
    )  # fmt: skip

    assert result.ok and result.consents_granted == 0
    assert latest_consent(maria).granted is True
    assert latest_consent(tom).source == "stop_reply"
    assert [w.line for w in result.warnings] == [2, 3]
    assert "does not override" in str(result.warnings[1])
    assert ConsentRecord.select().count() == 2


def test_every_cell_problem_of_a_row_is_reported(practice, settings, now):
    result = appointments(
        practice, settings, now,
        "Appointment ID,First Name,Phone,Start,Duration,Status,Consent",
        "A1,,+44 20 7946 0958,2026-12-20 25:00,forever,Perhaps,sometimes",
    )  # fmt: skip

    columns = sorted(error.column for error in result.errors)
    assert columns == sorted(
        ['"First Name"', '"Phone"', '"Consent"', '"Start"', '"Status"', '"Duration"']
    )
    assert {error.line for error in result.errors} == {2}
    assert Appointment.select().count() == 0


def test_a_time_skipped_by_the_clocks_is_an_error_and_a_repeated_one_is_the_first(
    practice, settings, now
):
    header = "id,first name,phone,date,time,status"
    gap = appointments(
        practice, settings, now, header, "A1,Maria,2125550134,2027-03-14,02:30,booked"
    )
    fold = appointments(
        practice, settings, now, header, "A2,Maria,2125550134,2027-11-07,01:30,booked"
    )

    assert "does not exist in America/New_York" in gap.errors[0].message
    assert gap.errors[0].column == '"date" + "time"'
    assert fold.ok, fold.errors
    # 01:30 happens twice that night; the first is still daylight time (-4).
    assert Appointment.get().starts_at == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_practice_time_to_utc():
    assert practice_time_to_utc(datetime(2027, 1, 5, 9, 30), NEW_YORK) == datetime(
        2027, 1, 5, 14, 30, tzinfo=UTC
    )
    with pytest.raises(InvalidInput):
        practice_time_to_utc(datetime(2027, 3, 14, 2, 15), NEW_YORK)


def test_times_with_an_offset_are_taken_as_they_are(practice, settings, now):
    result = appointments(
        practice, settings, now, "id,first name,phone,starts_at",
        "A1,Maria,2125550134,2026-12-14T14:30:00Z",
        "A2,Maria,2125550134,2026-12-14T09:30+01:00",
    )  # fmt: skip

    assert result.ok, result.errors
    starts = [a.starts_at for a in Appointment.select().order_by(Appointment.id)]
    assert starts == [
        datetime(2026, 12, 14, 14, 30, tzinfo=UTC),
        datetime(2026, 12, 14, 8, 30, tzinfo=UTC),
    ]


def test_a_date_with_no_time_is_refused(practice, settings, now):
    result = appointments(
        practice,
        settings,
        now,
        "id,first name,phone,start",
        "A1,Maria,2125550134,2026-12-14",
    )

    assert "has no time of day" in result.errors[0].message


def test_a_missing_patient_id_needs_name_and_phone(practice, settings, now):
    result = appointments(
        practice, settings, now, "Appointment ID,Patient ID,Start",
        "A1,P404,2026-12-14 10:00",
    )  # fmt: skip

    assert result.errors[0].column == '"Patient ID"'
    assert "not in frontdesk yet" in result.errors[0].message


def test_missing_columns_are_a_file_error(practice, settings, now):
    with pytest.raises(ImportFileError, match='no "starts_at" column'):
        appointments(practice, settings, now, "first name,phone", "Maria,2125550134")

    with pytest.raises(ImportFileError, match='no "time" column'):
        appointments(practice, settings, now, "first name,phone,date", "M,1,2026-12-14")

    with pytest.raises(ImportFileError, match="both look like"):
        patients(practice, settings, now, "Mobile,Cell,first name", "1,2,M")


def test_the_end_to_end_export_imports_and_reports_its_bad_rows(
    practice, settings, now, tmp_path
):
    path = tmp_path / "export.csv"
    start = datetime(2026, 12, 14, 9, 0, tzinfo=NEW_YORK)
    rows = write_appointments_csv(path, start_local=start, bad_rows=True)

    bad = import_appointments(practice, path, settings=settings, actor="e2e", now=now)

    expected = {
        (r["line"], f'"{r["error_column"]}"') for r in rows if r["error_column"]
    }
    assert {(e.line, e.column) for e in bad.errors} == expected
    assert Appointment.select().count() == 0

    good = write_appointments_csv(path, start_local=start)
    result = import_appointments(
        practice, path, settings=settings, actor="e2e", now=now
    )

    assert result.ok, result.errors[:3]
    assert result.created == len(good) == Appointment.select().count()
    assert {p.phone for p in Patient.select()} == {r["phone_e164"] for r in good}
    for row in good[:40]:
        appointment = Appointment.get(Appointment.external_id == row["external_id"])
        assert appointment.status == row["status"]
        assert appointment.starts_at == row["starts_at"]
        assert appointment.duration_minutes == row["duration_minutes"]
    consenting_confirmed = sum(
        1 for r in good if r["status"] == "confirmed" and r["sms_consent"]
    )
    assert ScheduledMessage.select().count() == 2 * consenting_confirmed

    again = import_appointments(practice, path, settings=settings, actor="e2e", now=now)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(good))


def test_progress_is_reported_per_row(practice, settings, now):
    seen: list[tuple[int, int]] = []

    patients(
        practice, settings, now, "first name,phone", "A,2125550134", "B,2125550135",
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip

    assert seen == [(1, 2), (2, 2)]
