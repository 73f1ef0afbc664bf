"""The batch reads behind a page of a screen: one query, through an index."""

from datetime import timedelta

from store.consent import revoke_consent
from store.db import database
from store.models import ConsentSource
from store.patients import add_patient
from store.stats import latest_consents, reminders_by_appointment


def captured_sql(run) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """The last statement ``run`` sent to the database, with its parameters."""
    seen: list[tuple[str, object]] = []
    real = database.obj.execute_sql

    def spy(sql, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((sql, params))
        return real(sql, params, *args, **kwargs)

    database.obj.execute_sql = spy
    try:
        run()
    finally:
        del database.obj.execute_sql
    return seen[-1]


def test_latest_consents_gives_each_patients_newest_record(
    practice, patient, settings, now
):
    never = add_patient(
        practice, first_name="Tom", phone="(718) 555-0190", actor="desk", now=now
    )
    revoke_consent(
        practice,
        patient.id,
        source=ConsentSource.FRONT_DESK_VERBAL,
        actor="desk",
        settings=settings,
        now=now + timedelta(hours=1),
    )

    found = latest_consents(practice, [patient.id, never.id])

    assert list(found) == [patient.id]
    assert found[patient.id].granted is False


def test_latest_consents_stays_in_the_practice(practice, other_practice, patient):
    assert latest_consents(other_practice, [patient.id]) == {}
    assert latest_consents(practice, []) == {}


def test_latest_consents_reads_the_patients_index(practice, patient):
    sql, params = captured_sql(lambda: latest_consents(practice, [patient.id]))

    plan = " / ".join(
        row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)
    )
    assert "consent_record_patient_id_channel_recorded_at" in plan, plan


def test_reminders_by_appointment_reads_the_appointment_index(practice, patient, now):
    sql, params = captured_sql(lambda: reminders_by_appointment(practice, [1, 2]))

    plan = " / ".join(
        row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)
    )
    assert "scheduled_message_appointment_id" in plan, plan
