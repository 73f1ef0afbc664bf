"""SMS consent: an append-only history per patient, of which the latest counts.

Granting consent brings back the reminders still ahead; revoking it cancels
every pending text to the patient.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from store.audit import record_event
from store.db import database
from store.errors import InvalidInput
from store.models import (
    Channel,
    ConsentRecord,
    ConsentSource,
    Patient,
    Practice,
    utcnow,
)
from store.patients import get_patient

if TYPE_CHECKING:
    from store.settings import Settings

log = logging.getLogger(__name__)

SOURCE_LABELS = {
    ConsentSource.FRONT_DESK_VERBAL: "told the front desk",
    ConsentSource.WRITTEN_FORM: "written form",
    ConsentSource.IMPORT: "imported",
    ConsentSource.CARRIER_OPT_OUT: "carrier opt-out",
    ConsentSource.STOP_REPLY: "replied STOP",
}


# Sources that can only take consent away: a carrier's opt-out or a STOP reply
# never means the patient agreed.
WITHDRAWAL_SOURCES = frozenset(
    {ConsentSource.CARRIER_OPT_OUT, ConsentSource.STOP_REPLY}
)


def parse_source(text: str) -> ConsentSource:
    """Accept a source by value or label in any case; raise InvalidInput else."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    for source in ConsentSource:
        if key in (source.value, SOURCE_LABELS[source].replace(" ", "_")):
            return source
    choices = ", ".join(s.value for s in ConsentSource)
    raise InvalidInput(
        f"'{text}' is not a consent source; use one of {choices}.", field="source"
    )


def latest_consent(
    patient: Patient | int, channel: str = Channel.SMS
) -> ConsentRecord | None:
    """The newest consent record for the patient and channel, granted or not."""
    return (
        ConsentRecord.select()
        .where((ConsentRecord.patient == patient) & (ConsentRecord.channel == channel))
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        .first()
    )


def current_consent(
    patient: Patient | int, channel: str = Channel.SMS
) -> ConsentRecord | None:
    """The grant that allows texting the patient now, or None."""
    record = latest_consent(patient, channel)
    return record if record is not None and record.granted else None


def current_consents(
    patient_ids: Iterable[int], channel: str = Channel.SMS
) -> dict[int, ConsentRecord | None]:
    """``current_consent`` for many patients in one query: for each id, the
    grant that allows texting the patient now, or None."""
    wanted = set(patient_ids)
    found: dict[int, ConsentRecord | None] = dict.fromkeys(wanted)
    if not wanted:
        return found

    # Newest first, as in latest_consent; the first record seen for a
    # patient is the one that counts, granted or not.
    records = (
        ConsentRecord.select()
        .where(ConsentRecord.patient.in_(wanted) & (ConsentRecord.channel == channel))
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    )
    seen: set[int] = set()
    for record in records:
        if record.patient_id in seen:
            continue
        seen.add(record.patient_id)
        found[record.patient_id] = record if record.granted else None
    return found


def consent_history(practice: Practice, patient_id: int) -> list[ConsentRecord]:
    """Every consent record of the patient, newest first."""
    patient = get_patient(practice, patient_id)
    return list(
        ConsentRecord.for_tenant(practice)
        .where(ConsentRecord.patient == patient)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    )


def grant_consent(
    practice: Practice,
    patient_id: int,
    *,
    source: ConsentSource | str,
    actor: str,
    settings: "Settings",
    note: str = "",
    now: datetime | None = None,
) -> ConsentRecord:
    """Record that the patient agreed to texts, and create the reminders still
    ahead for their confirmed appointments."""
    from store.reminders import sync_patient_reminders

    now = now or utcnow()
    if parse_source(str(source)) in WITHDRAWAL_SOURCES:
        raise InvalidInput(
            f"'{source}' records a withdrawal, not an agreement; record the "
            "patient's agreement as front_desk_verbal or written_form.",
            field="source",
        )

    with database.atomic():
        record = _append(practice, patient_id, True, source, actor, note, now)
        sync_patient_reminders(practice, record.patient, settings, actor=actor, now=now)

    log.info("Consent granted for patient %s (%s)", patient_id, record.source)
    return record


def revoke_consent(
    practice: Practice,
    patient_id: int,
    *,
    source: ConsentSource | str,
    actor: str,
    settings: "Settings",
    note: str = "",
    now: datetime | None = None,
) -> ConsentRecord:
    """Record that the patient withdrew consent, and cancel every pending text
    to them, reminders included."""
    from store.messages import cancel_pending_for_patient
    from store.reminders import sync_patient_reminders

    now = now or utcnow()
    with database.atomic():
        record = _append(practice, patient_id, False, source, actor, note, now)
        cancelled = cancel_pending_for_patient(
            practice,
            record.patient,
            reason="The patient withdrew SMS consent.",
            code="no_consent",
            actor=actor,
            now=now,
        )
        sync_patient_reminders(practice, record.patient, settings, actor=actor, now=now)

    log.info(
        "Consent revoked for patient %s (%s); %d pending messages cancelled",
        patient_id,
        record.source,
        cancelled,
    )
    return record


def _append(
    practice: Practice,
    patient_id: int,
    granted: bool,
    source: ConsentSource | str,
    actor: str,
    note: str,
    now: datetime,
) -> ConsentRecord:
    patient = get_patient(practice, patient_id)
    source = parse_source(str(source))
    if not actor.strip():
        raise InvalidInput("Say who is recording the consent.", field="actor")

    record = ConsentRecord.create(
        practice=practice,
        patient=patient,
        channel=Channel.SMS,
        granted=granted,
        source=source,
        recorded_by=actor,
        recorded_at=now,
        note=note.strip(),
    )
    record_event(
        practice,
        actor,
        "consent.granted" if granted else "consent.revoked",
        patient,
        {"source": str(source), "record": record.id},
        now=now,
    )
    return record
