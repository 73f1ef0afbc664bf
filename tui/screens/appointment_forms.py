"""Dialogs that book, edit and move an appointment."""

from collections.abc import Callable
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from store.appointments import (
    book_appointment,
    reschedule_appointment,
    update_appointment,
)
from store.errors import InvalidInput
from store.models import Appointment, AppointmentStatus
from tui.format import day_label
from tui.screens.dialogs import FormModal
from tui.when import WHEN_HINT, parse_when
from tui.widgets.form_field import FormField
from tui.widgets.patient_picker import PatientPicker

STATUS_CHOICES = [
    (status.value.replace("_", " ").capitalize(), status.value)
    for status in AppointmentStatus
]


class WhenPreview:
    """Shows under a time field what the typed text means, as it is typed."""

    def preview_when(self, field: FormField, text: str) -> None:
        app = field.app
        try:
            when = parse_when(text, now=app.now(), zone=app.desk.practice.zone)
        except InvalidInput:
            field.set_hint(WHEN_HINT)
            return
        local = when.astimezone(app.desk.practice.zone)
        field.set_hint(f"→ {day_label(local.date())}, {local:%H:%M} {local:%Z}")


class AppointmentModal(WhenPreview, FormModal[Appointment]):
    """Book an appointment, or edit one (time, length, provider, status)."""

    def __init__(self, appointment: Appointment | None = None) -> None:
        super().__init__()
        self.appointment = appointment
        self.TITLE_TEXT = "Edit appointment" if appointment else "Book an appointment"

    def compose_fields(self) -> ComposeResult:
        zone = self.app.desk.practice.zone
        current = self.appointment
        if current is None:
            yield FormField("Patient", PatientPicker(), field="patient")
            when, minutes, provider = "", "30", ""
            status = AppointmentStatus.BOOKED.value
        else:
            yield Label(f"Patient: {current.patient.full_name}", classes="dialog-text")
            local = current.starts_at.astimezone(zone)
            when = f"{local:%Y-%m-%d %H:%M}"
            minutes = str(current.duration_minutes)
            provider, status = current.provider, current.status

        yield FormField(
            "Starts (practice time)",
            Input(value=when, placeholder="tomorrow 9:30"),
            field="starts_at",
            hint=WHEN_HINT,
        )
        yield FormField(
            "Length in minutes",
            Input(value=minutes, restrict=r"\d*", max_length=4),
            field="duration_minutes",
        )
        yield FormField("With (provider)", Input(value=provider), field="provider")
        yield FormField(
            "Status",
            Select(STATUS_CHOICES, value=status, allow_blank=False),
            field="status",
            hint="Reminders go out only for confirmed appointments.",
        )

    def field_names(self, field: FormField) -> tuple[str, ...]:
        if field.field == "patient":
            return ("patient", "patient_id", "phone")
        return (field.field,)

    @on(Input.Changed, "#field-starts_at Input")
    def _preview(self, event: Input.Changed) -> None:
        self.preview_when(self.query_one("#field-starts_at", FormField), event.value)

    def prepare(self) -> Callable[[], Appointment]:
        app = self.app
        desk = app.desk
        starts_at = parse_when(
            self.value_of("starts_at"),
            now=app.now(),
            zone=desk.practice.zone,
            field="starts_at",
        )
        minutes = _minutes(self.value_of("duration_minutes"))
        provider = self.value_of("provider")
        status = str(self.query_one("#field-status Select", Select).value)
        actor, now = app.actor, app.now()

        if self.appointment is None:
            chosen = self.query_one(PatientPicker).chosen
            if chosen is None:
                raise InvalidInput(
                    "Choose the patient: type their name, then pick them.",
                    field="patient",
                )
            return lambda: book_appointment(
                desk.practice,
                patient_id=chosen.id,
                starts_at=starts_at,
                duration_minutes=minutes,
                provider=provider,
                status=status,
                actor=actor,
                settings=desk.settings,
                now=now,
            )

        appointment_id = self.appointment.id
        return lambda: update_appointment(
            desk.practice,
            appointment_id,
            starts_at=starts_at,
            duration_minutes=minutes,
            provider=provider,
            status=status,
            actor=actor,
            settings=desk.settings,
            now=now,
        )


class RescheduleModal(WhenPreview, FormModal[Appointment]):
    """Move an appointment; its pending reminders move with it."""

    TITLE_TEXT = "Move the appointment"
    SAVE_LABEL = "Move"

    def __init__(self, appointment: Appointment) -> None:
        super().__init__()
        self.appointment = appointment

    def compose_fields(self) -> ComposeResult:
        zone = self.app.desk.practice.zone
        local = self.appointment.starts_at.astimezone(zone)
        yield Label(
            f"{self.appointment.patient.full_name}, now "
            f"{day_label(local.date())} at {local:%H:%M}",
            classes="dialog-text",
        )
        yield FormField(
            "New start (practice time)",
            Input(placeholder="tomorrow 9:30"),
            field="starts_at",
            hint=WHEN_HINT,
        )

    @on(Input.Changed, "#field-starts_at Input")
    def _preview(self, event: Input.Changed) -> None:
        self.preview_when(self.query_one("#field-starts_at", FormField), event.value)

    def prepare(self) -> Callable[[], Appointment]:
        app = self.app
        desk = app.desk
        starts_at: datetime = parse_when(
            self.value_of("starts_at"),
            now=app.now(),
            zone=desk.practice.zone,
            field="starts_at",
        )
        appointment_id, actor, now = self.appointment.id, app.actor, app.now()
        return lambda: reschedule_appointment(
            desk.practice,
            appointment_id,
            starts_at,
            actor=actor,
            settings=desk.settings,
            now=now,
        )


def _minutes(text: str) -> int:
    if not text.strip().isdigit():
        raise InvalidInput(
            "Type the length in whole minutes, like 30.", field="duration_minutes"
        )
    return int(text)
