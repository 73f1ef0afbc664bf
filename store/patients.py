"""Patients: adding, editing and finding them by name or phone."""

import logging
import unicodedata
from datetime import datetime

import peewee
import phonenumbers

from store.audit import record_event
from store.db import database
from store.errors import InvalidInput, NotFound
from store.models import (
    MessageStatus,
    Patient,
    Practice,
    ScheduledMessage,
    phone_tail_key,
    search_key,
    utcnow,
)
from store.phones import normalize_phone
from store.stats import unindexed

log = logging.getLogger(__name__)

SEARCH_LIMIT = 50


def add_patient(
    practice: Practice,
    *,
    first_name: str,
    last_name: str = "",
    phone: str,
    actor: str,
    external_id: str | None = None,
    now: datetime | None = None,
) -> Patient:
    """Add a patient with a mobile number normalised to E.164.

    Raises InvalidInput for a missing name or a number that cannot take texts.
    """
    first_name, last_name = _clean_names(first_name, last_name)
    number = normalize_phone(phone, practice.region)
    now = now or utcnow()

    with database.atomic():
        patient = Patient.create(
            practice=practice,
            first_name=first_name,
            last_name=last_name,
            phone=number,
            external_id=external_id or None,
            created_at=now,
            updated_at=now,
        )
        record_event(practice, actor, "patient.added", patient, now=now)

    return patient


def update_patient(
    practice: Practice,
    patient_id: int,
    *,
    actor: str,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> Patient:
    """Change a patient's name or number.

    A new number also goes onto the patient's pending messages: they have not
    gone out, and a text to a number the patient gave up reaches a stranger.
    """
    now = now or utcnow()
    with database.atomic():
        patient = get_patient(practice, patient_id)
        changes: dict[str, str] = {}

        if first_name is not None or last_name is not None:
            first, last = _clean_names(
                patient.first_name if first_name is None else first_name,
                patient.last_name if last_name is None else last_name,
            )
            if (first, last) != (patient.first_name, patient.last_name):
                patient.first_name, patient.last_name = first, last
                changes["name"] = "changed"

        if phone is not None:
            number = normalize_phone(phone, practice.region)
            if number != patient.phone:
                patient.phone = number
                changes["phone"] = "changed"
                ScheduledMessage.update(to_number=number, updated_at=now).where(
                    (ScheduledMessage.practice == practice)
                    & (ScheduledMessage.patient == patient)
                    & (ScheduledMessage.status == MessageStatus.PENDING)
                ).execute()

        if changes:
            patient.updated_at = now
            patient.save()
            record_event(practice, actor, "patient.updated", patient, changes, now=now)

    return patient


def get_patient(practice: Practice | int, patient_id: int) -> Patient:
    """The patient with this id in this practice; raises NotFound otherwise."""
    patient = Patient.for_tenant(practice).where(Patient.id == patient_id).first()
    if patient is None:
        raise NotFound(f"There is no patient {patient_id} in this practice.")
    return patient


def find_patient_by_phone(practice: Practice, phone: str) -> Patient | None:
    """The patient with this number (any common format), or None."""
    number = normalize_phone(phone, practice.region)
    return (
        Patient.for_tenant(practice)
        .where(Patient.phone == number)
        .order_by(Patient.id)
        .first()
    )


def patients_with_phone(practice: Practice, phone: str) -> list[Patient]:
    """Every patient with this number (any common format), oldest first.

    Families often share one mobile, so a number may name several patients.
    """
    number = normalize_phone(phone, practice.region)
    return list(
        Patient.for_tenant(practice)
        .where(Patient.phone == number)
        .order_by(Patient.id)
        .limit(20)
    )


def find_patient_by_external_id(practice: Practice, external_id: str) -> Patient | None:
    return (
        Patient.for_tenant(practice).where(Patient.external_id == external_id).first()
    )


def search_patients(
    practice: Practice | int,
    query: str,
    *,
    limit: int = SEARCH_LIMIT,
    offset: int = 0,
) -> list[Patient]:
    """Patients whose name starts with the words typed, or whose number ends
    with, or starts with, the digits typed; by last name, then first name.

    Name words match the start of the first or the last name, so "jo sm" finds
    Jo Smith. Digits match the end of the number ("4567", "555-0134") or the
    start of the national number ("212555"); with a leading "+" they match the
    start of the whole international number. Every lookup is an index range,
    so it stays fast on a large practice.
    """
    words = search_key(query).split()
    select = Patient.for_tenant(practice)
    digits = "".join(ch for ch in query if ch in "0123456789")

    order = [Patient.last_key, Patient.first_key, Patient.id]

    if not words:
        pass
    elif len(digits) >= 3 and len(digits) * 2 >= len(query.strip()):
        select = select.where(_phone_match(practice, query, digits))
        # Walking the name index in order would read every patient to find
        # the few with these digits; a unary plus makes SQLite read the two
        # number ranges instead and sort what they hold.
        order[0] = unindexed(Patient.last_key)
    else:
        for word in words:
            select = select.where(
                _prefix(Patient.first_key, word) | _prefix(Patient.last_key, word)
            )

    return list(select.order_by(*order).limit(limit).offset(offset))


def _phone_match(
    practice: Practice | int, query: str, digits: str
) -> "peewee.Expression":
    # Both halves are ranges on an index, and SQLite reads the OR of two
    # indexed terms as two range scans whose rows it merges.
    ends_with = _prefix(Patient.phone_tail, phone_tail_key(digits))
    if query.strip().startswith("+"):
        start = "+" + digits
    else:
        start = f"+{_country_code(practice)}{digits}"
    return ends_with | _prefix(Patient.phone, start)


def _country_code(practice: Practice | int) -> int:
    if not isinstance(practice, Practice):
        practice = Practice.get_by_id(practice)
    return phonenumbers.country_code_for_region(practice.region)


def _prefix(field, word: str):  # type: ignore[no-untyped-def]
    # A half-open range instead of LIKE, so any database can use the index.
    return (field >= word) & (field < word + "\U0010ffff")


def count_patients(practice: Practice | int) -> int:
    return Patient.for_tenant(practice).count()


def _clean_names(first_name: str, last_name: str) -> tuple[str, str]:
    first = " ".join((first_name or "").split())
    last = " ".join((last_name or "").split())
    if not first:
        raise InvalidInput("The patient needs a first name.", field="first_name")
    for label, value in (("first_name", first), ("last_name", last)):
        if len(value) > 100:
            raise InvalidInput(
                f"The {label.replace('_', ' ')} is over 100 characters.", field=label
            )
        # Category Cc: DEL and the C1 controls as well as those below 32.
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise InvalidInput(
                f"The {label.replace('_', ' ')} holds control characters.",
                field=label,
            )
    return first, last
