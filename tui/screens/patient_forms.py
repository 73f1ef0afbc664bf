"""Dialogs that add or edit a patient and record their SMS consent."""

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from store.consent import SOURCE_LABELS, grant_consent, revoke_consent
from store.errors import InvalidInput
from store.models import ConsentRecord, ConsentSource, Patient
from store.patients import add_patient, update_patient
from store.phones import format_phone, normalize_phone
from tui.screens.dialogs import FormModal
from tui.widgets.form_field import FormField

# What staff can record by hand; carrier opt-outs and STOP replies come in
# through the daemon, but staff may still note one a patient reports.
SOURCE_CHOICES = [
    (SOURCE_LABELS[source].capitalize(), source.value) for source in ConsentSource
]


class PatientModal(FormModal[Patient]):
    """Add a patient, or change a patient's name or mobile number."""

    def __init__(self, patient: Patient | None = None) -> None:
        super().__init__()
        self.patient = patient
        self.TITLE_TEXT = "Edit patient" if patient else "Add a patient"

    def compose_fields(self) -> ComposeResult:
        region = self.app.desk.practice.region
        patient = self.patient
        yield FormField(
            "First name",
            Input(value=patient.first_name if patient else ""),
            field="first_name",
        )
        yield FormField(
            "Last name",
            Input(value=patient.last_name if patient else ""),
            field="last_name",
        )
        yield FormField(
            "Mobile number",
            Input(
                value=format_phone(patient.phone, region) if patient else "",
                placeholder="(212) 555-0134",
            ),
            field="phone",
            hint="A mobile that can take texts; landlines are refused.",
        )

    def prepare(self) -> Callable[[], Patient]:
        app = self.app
        practice = app.desk.practice
        first, last = self.value_of("first_name"), self.value_of("last_name")
        phone = self.value_of("phone")
        # Checked here too, so the error shows before anything is saved.
        normalize_phone(phone, practice.region)
        actor, now = app.actor, app.now()

        if self.patient is None:
            return lambda: add_patient(
                practice,
                first_name=first,
                last_name=last,
                phone=phone,
                actor=actor,
                now=now,
            )
        patient_id = self.patient.id
        return lambda: update_patient(
            practice,
            patient_id,
            first_name=first,
            last_name=last,
            phone=phone,
            actor=actor,
            now=now,
        )


class ConsentModal(FormModal[ConsentRecord]):
    """Record that a patient agreed to texts, or withdrew that agreement."""

    def __init__(self, patient: Patient, *, grant: bool) -> None:
        super().__init__()
        self.patient = patient
        self.grant = grant
        self.TITLE_TEXT = "Record SMS consent" if grant else "Record SMS opt-out"
        self.SAVE_LABEL = "Grant" if grant else "Revoke"

    def compose_fields(self) -> ComposeResult:
        if self.grant:
            what = f"{self.patient.full_name} agrees to appointment texts."
            source = ConsentSource.FRONT_DESK_VERBAL.value
        else:
            what = (
                f"{self.patient.full_name} no longer wants texts; every pending "
                "text to them will be cancelled."
            )
            source = ConsentSource.FRONT_DESK_VERBAL.value
        yield Label(what, classes="dialog-text")
        yield FormField(
            "How they told us",
            Select(SOURCE_CHOICES, value=source, allow_blank=False),
            field="source",
        )
        yield FormField(
            "Note (optional)",
            Input(placeholder="e.g. signed the intake form"),
            field="note",
        )
        yield Label(f"Recorded by {self.app.actor}", classes="dialog-hint")

    def prepare(self) -> Callable[[], ConsentRecord]:
        app = self.app
        desk = app.desk
        source = str(self.query_one("#field-source Select", Select).value)
        note = self.value_of("note")
        if len(note) > 500:
            raise InvalidInput("Keep the note under 500 characters.", field="note")
        record = grant_consent if self.grant else revoke_consent
        patient_id, actor, now = self.patient.id, app.actor, app.now()
        return lambda: record(
            desk.practice,
            patient_id,
            source=source,
            note=note,
            actor=actor,
            settings=desk.settings,
            now=now,
        )
