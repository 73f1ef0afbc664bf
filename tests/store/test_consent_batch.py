"""current_consents: the batch lookup agrees with current_consent."""

from datetime import timedelta

from store.consent import (
    current_consent,
    current_consents,
    grant_consent,
    revoke_consent,
)
from store.models import ConsentSource
from store.patients import add_patient


def _patient(practice, phone, now):  # type: ignore[no-untyped-def]
    return add_patient(
        practice,
        first_name="Ana",
        last_name="Reed",
        phone=phone,
        actor="desk",
        now=now,
    )


def test_the_batch_lookup_matches_one_lookup_per_patient(practice, settings, now):
    granted = _patient(practice, "(212) 555-0101", now)
    revoked = _patient(practice, "(212) 555-0102", now)
    regranted = _patient(practice, "(212) 555-0103", now)
    never = _patient(practice, "(212) 555-0104", now)
    form = {"source": ConsentSource.WRITTEN_FORM, "actor": "desk"}

    grant_consent(practice, granted.id, settings=settings, now=now, **form)
    grant_consent(practice, revoked.id, settings=settings, now=now, **form)
    revoke_consent(
        practice, revoked.id, settings=settings, now=now + timedelta(1), **form
    )
    revoke_consent(practice, regranted.id, settings=settings, now=now, **form)
    grant_consent(
        practice, regranted.id, settings=settings, now=now + timedelta(1), **form
    )
    # Same instant: the later record wins, as in latest_consent.
    grant_consent(practice, never.id, settings=settings, now=now, **form)
    revoke_consent(practice, never.id, settings=settings, now=now, **form)

    ids = [granted.id, revoked.id, regranted.id, never.id, 999_999]
    found = current_consents(ids)

    assert set(found) == set(ids)
    for patient_id in ids:
        one = current_consent(patient_id)
        assert (found[patient_id] and found[patient_id].id) == (one and one.id)
    assert found[granted.id] is not None and found[regranted.id] is not None
    assert found[revoked.id] is None and found[never.id] is None


def test_no_patients_need_no_query(practice):
    assert current_consents([]) == {}
