"""CSV imports of patients and appointments from a practice system's export.

Every row is read and checked first; then all of them are applied in one
transaction through the same services the desk uses, so every rule holds.
One bad row anywhere means nothing is written, and every bad row is reported.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from store.appointments import (
    book_appointment,
    find_appointment_by_external_id,
    update_appointment,
)
from store.audit import record_event
from store.consent import grant_consent, latest_consent
from store.db import database
from store.errors import InvalidInput, StoreError
from store.import_cells import CellError
from store.import_file import (
    APPOINTMENT_ALIASES,
    PATIENT_ALIASES,
    ImportFileError,
    PersonRow,
    RowError,
    RowProblems,
    Table,
    VisitRow,
    check_duplicates,
    read_person,
    read_table,
    read_visit,
    require_column,
    row_errors,
)
from store.models import (
    Appointment,
    AppointmentStatus,
    ConsentSource,
    Patient,
    Practice,
    search_key,
    utcnow,
)
from store.patients import add_patient, find_patient_by_external_id, update_patient

if TYPE_CHECKING:
    from store.settings import Settings

__all__ = [
    "ImportFileError",
    "ImportResult",
    "RowError",
    "import_appointments",
    "import_patients",
]

log = logging.getLogger(__name__)

DEFAULT_DURATION = 30

Progress = Callable[[int, int], None]
R = TypeVar("R", PersonRow, VisitRow)


@dataclass
class ImportResult:
    """What an import found and did; ``errors`` non-empty means nothing written.

    The counts are of rows: appointments in an appointments file, patients in
    a patients file. ``skipped`` rows were blank; ``passed`` rows were
    booked or confirmed visits already over, left out with a warning.
    """

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    passed: int = 0
    patients_created: int = 0
    consents_granted: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


def import_patients(
    practice: Practice,
    source: Path | bytes,
    *,
    settings: "Settings",
    actor: str,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Add or update patients from a CSV file, and record the consent it gives.

    Rows match existing patients by external id, else by phone and name. A
    "yes" consent is recorded (source import) only for a patient with no
    consent history: a withdrawal stands until staff record a new grant.
    A "no" never revokes a grant; both cases come back as warnings.

    Raises ImportFileError when the file cannot be read as CSV or lacks a
    required column. Row problems come back in ``result.errors``, and then
    nothing is written.
    """
    now = now or utcnow()
    result = ImportResult(kind="patients", dry_run=dry_run)
    table = _read(source, PATIENT_ALIASES, result)
    require_column(table, ("first_name", "name"), "first_name")
    require_column(table, ("phone",), "phone")

    people: list[PersonRow] = []
    for line, values in table.rows:
        try:
            people.append(read_person(practice, line, values, name_required=True))
        except (CellError, RowProblems, InvalidInput) as exc:
            result.errors += row_errors(table, line, exc)
    people = check_duplicates(table, people)
    result.errors += table.errors

    def apply(person: PersonRow) -> None:
        patient, state = _upsert_patient(practice, person, actor, now, update=True)
        granted = _record_consent(
            practice, patient, person, settings, actor, now, result
        )
        if state == "unchanged" and granted:
            state = "updated"
        setattr(result, state, getattr(result, state) + 1)

    _apply_all(result, table, people, apply, progress)
    return result


def import_appointments(
    practice: Practice,
    source: Path | bytes,
    *,
    settings: "Settings",
    actor: str,
    dry_run: bool = False,
    date_format: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Book or update appointments from a CSV file, adding missing patients.

    Appointments match by external id, else by patient and start time.
    Patients match by their external id, else by phone and name; existing
    patients are not edited here (a patients file does that). Times are read
    as practice time unless they carry an offset; a time skipped by a clock
    change is an error, and a repeated one means its first occurrence.
    Changes go through update_appointment, so a cancelled status cancels the
    reminders and a moved time moves them.

    Raises ImportFileError when the file cannot be read as CSV or lacks a
    required column. Row problems come back in ``result.errors``, and then
    nothing is written.
    """
    now = now or utcnow()
    result = ImportResult(kind="appointments", dry_run=dry_run)
    table = _read(source, APPOINTMENT_ALIASES, result)
    require_column(table, ("starts_at", "date"), "starts_at")
    if "date" in table.columns:
        require_column(table, ("time",), "time")
    if "patient_external_id" not in table.columns:
        require_column(table, ("first_name", "name"), "first_name")
        require_column(table, ("phone",), "phone")

    visits: list[VisitRow] = []
    for line, values in table.rows:
        try:
            visits.append(read_visit(practice, line, values, date_format))
        except (CellError, RowProblems, InvalidInput) as exc:
            result.errors += row_errors(table, line, exc)
    visits = check_duplicates(table, visits)
    result.errors += table.errors

    def apply(visit: VisitRow) -> None:
        patient, state = _upsert_patient(
            practice, visit.person, actor, now, update=False
        )
        if state == "created":
            result.patients_created += 1
        _record_consent(practice, patient, visit.person, settings, actor, now, result)
        outcome = _upsert_appointment(practice, patient, visit, settings, actor, now)
        if outcome == "past":
            result.warnings.append(_passed(visit, practice))
            outcome = "passed"
        setattr(result, outcome, getattr(result, outcome) + 1)

    _apply_all(result, table, visits, apply, progress)
    return result


def _read(
    source: Path | bytes, aliases: dict[str, tuple[str, ...]], result: ImportResult
) -> Table:
    table = read_table(source, aliases)
    result.rows = len(table.rows)
    result.skipped = table.skipped
    result.ignored_columns = table.ignored
    result.errors += table.errors
    table.errors = []
    return table


# Applying the rows


class _Rollback(Exception):
    """Raised to undo the whole import after a dry run or a failed row."""


def _apply_all(
    result: ImportResult,
    table: Table,
    rows: Sequence[R],
    apply: Callable[[R], None],
    progress: Progress | None,
) -> None:
    total = len(rows)
    try:
        with database.atomic():
            for done, row in enumerate(rows, start=1):
                try:
                    with database.atomic():
                        apply(row)
                except (CellError, StoreError) as exc:
                    result.errors += row_errors(table, row.line, exc)
                if progress is not None:
                    progress(done, total)

            if result.errors or result.dry_run:
                raise _Rollback
    except _Rollback:
        pass

    result.errors.sort(key=lambda error: error.line)
    log.info(
        "Import of %s %s: %d created, %d updated, %d unchanged, %d errors",
        result.kind,
        "checked" if result.dry_run or result.errors else "applied",
        result.created,
        result.updated,
        result.unchanged,
        len(result.errors),
    )


def _upsert_patient(
    practice: Practice, person: PersonRow, actor: str, now: datetime, *, update: bool
) -> tuple[Patient, str]:
    patient = None
    linked = False
    if person.external_id is not None:
        patient = find_patient_by_external_id(practice, person.external_id)
    if patient is None and person.phone is not None:
        patient = _find_by_phone_and_name(practice, person, unlinked=person.external_id)
        if patient is not None and person.external_id is not None:
            _link_external_id(practice, patient, person.external_id, actor, now)
            linked = True

    if patient is None:
        if not (person.first_name and person.phone):
            raise CellError(
                "patient_external_id",
                f"patient '{person.external_id}' is not in frontdesk yet, and "
                "the row has no first name and mobile number to add them.",
            )
        created = add_patient(
            practice,
            first_name=person.first_name,
            last_name=person.last_name or "",
            phone=person.phone,
            external_id=person.external_id,
            actor=actor,
            now=now,
        )
        return created, "created"

    if not update:
        return patient, "updated" if linked else "unchanged"

    before = (patient.first_name, patient.last_name, patient.phone)
    patient = update_patient(
        practice,
        patient.id,
        actor=actor,
        first_name=person.first_name,
        last_name=person.last_name,
        phone=person.phone,
        now=now,
    )
    after = (patient.first_name, patient.last_name, patient.phone)
    return patient, "unchanged" if before == after and not linked else "updated"


def _find_by_phone_and_name(
    practice: Practice, person: PersonRow, *, unlinked: str | None
) -> Patient | None:
    query = Patient.for_tenant(practice).where(
        (Patient.phone == person.phone)
        & (Patient.first_key == search_key(person.first_name))
    )
    if person.last_name is not None:
        query = query.where(Patient.last_key == search_key(person.last_name))
    if unlinked is not None:
        # A patient already linked to another id is someone else.
        query = query.where(Patient.external_id.is_null())
    return query.order_by(Patient.id).first()


def _link_external_id(
    practice: Practice, patient: Patient, external_id: str, actor: str, now: datetime
) -> None:
    # No service edits the id: it only ever comes from an import, which
    # adopts a patient the desk added by hand instead of adding them twice.
    patient.external_id = external_id
    patient.updated_at = now
    patient.save()
    record_event(
        practice,
        actor,
        "patient.updated",
        patient,
        {"external_id": external_id},
        now=now,
    )


def _record_consent(
    practice: Practice,
    patient: Patient,
    person: PersonRow,
    settings: "Settings",
    actor: str,
    now: datetime,
    result: ImportResult,
) -> bool:
    if person.consent is None:
        return False

    latest = latest_consent(patient)
    if person.consent and latest is None:
        grant_consent(
            practice,
            patient.id,
            source=ConsentSource.IMPORT,
            actor=actor,
            settings=settings,
            note=f"imported, line {person.line}",
            now=now,
        )
        result.consents_granted += 1
        return True

    if latest is None:
        return False
    if person.consent and not latest.granted:
        result.warnings.append(
            RowError(
                person.line,
                None,
                f"patient {patient.id} withdrew SMS consent ({latest.source}); "
                "the file's 'yes' does not override that. Record a new grant "
                "with the patient if they agreed again.",
            )
        )
    elif not person.consent and latest.granted:
        result.warnings.append(
            RowError(
                person.line,
                None,
                f"the file says no SMS consent, but patient {patient.id} has "
                "agreed to texts in frontdesk; left as it is. Revoke it in "
                "frontdesk if the patient withdrew.",
            )
        )
    return False


def _upsert_appointment(
    practice: Practice,
    patient: Patient,
    visit: VisitRow,
    settings: "Settings",
    actor: str,
    now: datetime,
) -> str:
    existing = _find_appointment(practice, patient, visit)
    status = visit.status
    upcoming = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)

    if existing is None:
        status = status or AppointmentStatus.BOOKED
        if status in upcoming and visit.starts_at < now:
            # A day sheet exported at noon still says "confirmed" for the
            # morning's visits; they are over, not wrong.
            return "past"
        book_appointment(
            practice,
            patient_id=patient.id,
            starts_at=visit.starts_at,
            actor=actor,
            settings=settings,
            duration_minutes=visit.duration or DEFAULT_DURATION,
            provider=visit.provider or "",
            status=status,
            external_id=visit.external_id,
            now=now,
        )
        return "created"

    if existing.patient_id != patient.id:
        raise CellError(
            "external_id",
            f"appointment '{visit.external_id}' belongs to another patient "
            f"(patient {existing.patient_id}) in frontdesk; check the patient "
            "on this row.",
        )

    changes: dict[str, Any] = {}
    if status is not None and status != existing.status:
        changes["status"] = status
    if visit.starts_at != existing.starts_at:
        changes["starts_at"] = visit.starts_at
        if (status or existing.status) in upcoming and visit.starts_at < now:
            return "past"
    if visit.duration is not None and visit.duration != existing.duration_minutes:
        changes["duration_minutes"] = visit.duration
    if visit.provider is not None and visit.provider != existing.provider:
        changes["provider"] = visit.provider
    if not changes:
        return "unchanged"

    update_appointment(
        practice, existing.id, actor=actor, settings=settings, now=now, **changes
    )
    return "updated"


def _find_appointment(
    practice: Practice, patient: Patient, visit: VisitRow
) -> Appointment | None:
    if visit.external_id is not None:
        return find_appointment_by_external_id(practice, visit.external_id)
    return (
        Appointment.for_tenant(practice)
        .where(
            (Appointment.patient == patient)
            & (Appointment.starts_at == visit.starts_at)
        )
        .first()
    )


def _passed(visit: VisitRow, practice: Practice) -> RowError:
    local = visit.starts_at.astimezone(practice.zone)
    return RowError(
        visit.line,
        None,
        f"{local:%Y-%m-%d %H:%M} has already passed and the visit is still "
        "booked or confirmed in the file; left out, since no reminder can go "
        "for it. Mark it completed or no-show to record it.",
    )
