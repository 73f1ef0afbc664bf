"""The database seam, the schema version, and tenant isolation."""

import sqlite3
from datetime import UTC, datetime, timedelta

import peewee
import pytest

from store import db as store_db
from store.appointments import book_appointment
from store.consent import grant_consent
from store.db import close_database, database, open_database
from store.errors import CrossPracticeLink, NotFound, SchemaError
from store.lifecycle import claim_message, mark_sent
from store.messages import schedule_message
from store.models import (
    Appointment,
    ConsentRecord,
    MessageStatus,
    Patient,
    ScheduledMessage,
    SentMessage,
)
from store.patients import add_patient, get_patient


def test_sqlite_runs_in_wal_with_a_long_busy_timeout_and_foreign_keys(db):
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_create_stores_instants_in_utc_and_reads_them_back_aware(practice, now):
    patient = add_patient(
        practice, first_name="Ann", phone="212 555 0199", actor="desk", now=now
    )
    fresh = Patient.get_by_id(patient.id)

    assert fresh.created_at == now
    assert fresh.created_at.tzinfo is not None
    raw = database.execute_sql(
        "SELECT created_at FROM patient WHERE id = ?", (patient.id,)
    ).fetchone()[0]
    assert raw == "2026-12-09 14:00:00.000000"


def test_for_tenant_sees_only_its_own_practice(practice, other_practice, now):
    add_patient(practice, first_name="Ann", phone="212 555 0101", actor="d", now=now)
    add_patient(
        other_practice, first_name="Ben", phone="+44 7400 123456", actor="d", now=now
    )

    names_a = [p.first_name for p in Patient.for_tenant(practice)]
    names_b = [p.first_name for p in Patient.for_tenant(other_practice)]

    assert names_a == ["Ann"]
    assert names_b == ["Ben"]


def test_a_record_of_another_practice_is_not_found(practice, other_practice, now):
    ben = add_patient(
        other_practice, first_name="Ben", phone="+44 7400 123456", actor="d", now=now
    )

    with pytest.raises(NotFound):
        get_patient(practice, ben.id)


def test_linking_another_practices_patient_raises_value_error(
    practice, other_practice, now
):
    ben = add_patient(
        other_practice, first_name="Ben", phone="+44 7400 123456", actor="d", now=now
    )

    with pytest.raises(ValueError):
        Appointment.create(
            practice=practice, patient=ben, starts_at=now + timedelta(days=2)
        )
    with pytest.raises(CrossPracticeLink):
        ConsentRecord.create(
            practice=practice,
            patient=ben.id,
            granted=True,
            source="import",
            recorded_by="d",
        )
    assert Appointment.select().count() == 0
    assert ConsentRecord.select().count() == 0


def test_mark_sent_refuses_a_sent_record_of_another_practice(
    practice, other_practice, settings, now
):
    ann = add_patient(practice, first_name="Ann", phone="212 555 0101", actor="d")
    grant_consent(practice, ann.id, source="import", actor="d", settings=settings)
    message = schedule_message(
        practice,
        patient_id=ann.id,
        body="Hi",
        at=now,
        actor="d",
        settings=settings,
        now=now,
    )
    ben = add_patient(
        other_practice, first_name="Ben", phone="+44 7400 123456", actor="d"
    )
    foreign = SentMessage.create(
        practice=other_practice,
        patient=ben,
        to_number=ben.phone,
        body="Hi",
        provider_sid="SM1",
        gateway="outbox",
    )
    claimed = claim_message(message.id, now + timedelta(minutes=1))

    with pytest.raises(ValueError):
        mark_sent(claimed, foreign)
    assert ScheduledMessage.get_by_id(message.id).status == MessageStatus.SENDING


def test_booking_for_another_practices_patient_is_refused(
    practice, other_practice, settings, now
):
    ben = add_patient(
        other_practice, first_name="Ben", phone="+44 7400 123456", actor="d"
    )

    with pytest.raises(NotFound):
        book_appointment(
            practice,
            patient_id=ben.id,
            starts_at=now + timedelta(days=1),
            actor="d",
            settings=settings,
            now=now,
        )


def test_a_database_from_a_newer_frontdesk_is_refused(home_dir):
    path = home_dir / "frontdesk.db"
    open_database(path)
    store_db.SchemaVersion.update(version=store_db.SCHEMA_VERSION + 1).execute()
    close_database()

    with pytest.raises(SchemaError, match="newer"):
        open_database(path)
    close_database()


def test_an_older_database_is_migrated_forward_keeping_its_rows(home_dir, monkeypatch):
    path = home_dir / "frontdesk.db"
    open_database(path)
    from store.practices import create_practice

    create_practice("Harbour Dental", "America/New_York")
    close_database()

    def add_practice_phone(migrator):
        from playhouse.migrate import migrate

        migrate(
            migrator.add_column(
                "practice", "front_desk_phone", peewee.CharField(default="")
            )
        )

    target = store_db.SCHEMA_VERSION + 1
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", target)
    monkeypatch.setitem(store_db.MIGRATIONS, target, add_practice_phone)
    open_database(path)
    close_database()

    raw = sqlite3.connect(path)
    assert raw.execute("SELECT version FROM schema_version").fetchone()[0] == target
    assert raw.execute("SELECT name, front_desk_phone FROM practice").fetchall() == [
        ("Harbour Dental", "")
    ]
    raw.close()


def test_a_version_1_database_loses_its_unsearched_indexes_and_keeps_its_rows(
    home_dir,
):
    path = home_dir / "frontdesk.db"
    open_database(path)
    from store.practices import create_practice

    create_practice("Harbour Dental", "America/New_York")
    close_database()
    # What version 1 created beside today's indexes.
    raw = sqlite3.connect(path)
    raw.executescript(
        """
        CREATE INDEX sent_message_patient_id ON sent_message (patient_id);
        CREATE INDEX sent_message_consent_id ON sent_message (consent_id);
        CREATE INDEX scheduled_message_patient_id ON scheduled_message (patient_id);
        CREATE INDEX scheduled_message_claim_token ON scheduled_message (claim_token);
        UPDATE schema_version SET version = 1;
        """
    )
    raw.close()

    open_database(path)
    close_database()

    raw = sqlite3.connect(path)
    indexes = {
        name
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert raw.execute("SELECT version FROM schema_version").fetchone() == (2,)
    assert raw.execute("SELECT name FROM practice").fetchall() == [("Harbour Dental",)]
    raw.close()
    assert "scheduled_message_claim_token" not in indexes
    assert "sent_message_patient_id" not in indexes
    assert "scheduled_message_patient_id_status" in indexes


def test_a_file_that_is_not_a_frontdesk_database_is_left_alone(home_dir):
    path = home_dir / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE practice (id INTEGER PRIMARY KEY, x TEXT)")
    raw.commit()
    raw.close()

    with pytest.raises(SchemaError):
        open_database(path)
    close_database()


def test_naive_datetimes_are_refused_rather_than_guessed(practice):
    ann = add_patient(practice, first_name="Ann", phone="212 555 0101", actor="d")

    with pytest.raises(ValueError, match="aware"):
        Appointment.create(
            practice=practice, patient=ann, starts_at=datetime(2027, 1, 1, 9)
        )


def test_times_in_other_offsets_compare_correctly(practice, now):
    ann = add_patient(practice, first_name="Ann", phone="212 555 0101", actor="d")
    from zoneinfo import ZoneInfo

    early = Appointment.create(
        practice=practice,
        patient=ann,
        starts_at=datetime(2027, 1, 1, 10, tzinfo=ZoneInfo("America/New_York")),
    )
    late = Appointment.create(
        practice=practice,
        patient=ann,
        starts_at=datetime(2027, 1, 1, 14, 30, tzinfo=UTC),
    )

    found = list(
        Appointment.for_tenant(practice)
        .where(Appointment.starts_at <= datetime(2027, 1, 1, 14, 30, tzinfo=UTC))
        .order_by(Appointment.starts_at)
    )

    # 10:00 in New York is 15:00 UTC: after the cut, though "10" < "14".
    assert [a.id for a in found] == [late.id]
    assert early.id != late.id


def test_config_practice_values_win_over_the_stored_ones(home_dir):
    from daemon.context import open_desk
    from store.models import AuditEvent, Practice
    from store.practices import create_practice

    open_database(home_dir / "frontdesk.db")
    create_practice("Harbour Dental", "America/New_York", "US")
    close_database()
    (home_dir / "config.toml").write_text(
        '[practice]\nname = "Harbour Dental & Implants"\ntimezone = "America/Chicago"\n'
    )

    desk = open_desk(home_dir)

    stored = Practice.get()
    assert (stored.name, stored.timezone, stored.region) == (
        "Harbour Dental & Implants",
        "America/Chicago",
        "US",
    )
    assert desk.practice.zone.key == "America/Chicago"
    assert AuditEvent.get(AuditEvent.action == "practice.updated").actor == "system"
    close_database()
    database.initialize(None)


def test_a_new_database_is_never_readable_by_every_user(tmp_path):
    import os
    import stat

    home = tmp_path / "shared-home"
    home.mkdir(mode=0o755)
    old = os.umask(0o022)
    try:
        open_database(home / "frontdesk.db")
    finally:
        os.umask(old)
        close_database()
        database.initialize(None)

    mode = stat.S_IMODE((home / "frontdesk.db").stat().st_mode)
    assert mode & 0o007 == 0, oct(mode)
