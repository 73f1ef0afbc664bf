"""Writing a new text to a patient, with its cost shown as it is typed."""

import unicodedata
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, TextArea

from store.errors import InvalidInput
from store.messages import schedule_message
from store.models import Patient, ScheduledMessage
from store.phones import format_phone
from store.sms import MAX_BODY, non_gsm_characters, sms_segments
from tui.screens.appointment_forms import WhenPreview
from tui.screens.dialogs import FormModal
from tui.when import WHEN_HINT, parse_when
from tui.widgets.form_field import FormField
from tui.widgets.patient_picker import PatientChoice, PatientPicker


def describe_cost(body: str) -> str:
    """'GSM-7 · 1 segment · 112 left in this segment', and which characters
    forced UCS-2 when any did."""
    info = sms_segments(body)
    parts = [
        info.encoding,
        f"{info.segments} segment{'s' if info.segments != 1 else ''}",
        f"{info.remaining} left in this segment",
        f"{len(body)}/{MAX_BODY} characters",
    ]
    text = " · ".join(parts)

    odd = non_gsm_characters(body)
    if odd:
        shown = ", ".join(f"{ch} ({_char_name(ch)})" for ch in odd[:4])
        more = f" and {len(odd) - 4} more" if len(odd) > 4 else ""
        text += (
            f"\nUCS-2 because of {shown}{more}: swap for plain characters to "
            "fit more in each segment."
        )
    return text


def _char_name(char: str) -> str:
    return unicodedata.name(char, f"U+{ord(char):04X}").lower()


class ComposeModal(WhenPreview, FormModal[ScheduledMessage]):
    """Schedule a text to one patient at a time in practice time.

    The recipient is picked by search (or given); the encoding, segment count
    and room left show live under the body, with any characters that force
    the costlier UCS-2 encoding named.
    """

    TITLE_TEXT = "New text message"
    SAVE_LABEL = "Schedule"

    def __init__(self, patient: Patient | None = None) -> None:
        super().__init__()
        self.patient = patient

    def compose_fields(self) -> ComposeResult:
        if self.patient is None:
            yield FormField("To", PatientPicker(), field="patient")
        else:
            region = self.app.desk.practice.region
            chosen = PatientChoice(
                self.patient.id,
                self.patient.full_name,
                format_phone(self.patient.phone, region),
                None,
            )
            yield FormField(
                "To",
                Label(f"{chosen.name}  {chosen.phone}"),
                field="patient",
            )
        yield FormField(
            "Message",
            TextArea(id="body", soft_wrap=True, tab_behavior="focus"),
            field="body",
            hint=describe_cost(""),
        )
        yield FormField(
            "Send at (practice time)",
            Input(value="now", placeholder="tomorrow 9:30"),
            field="at",
            hint=WHEN_HINT,
        )

    def on_mount(self) -> None:
        self.preview_when(self.query_one("#field-at", FormField), "now")

    def field_names(self, field: FormField) -> tuple[str, ...]:
        if field.field == "patient":
            return ("patient", "patient_id", "phone")
        return (field.field,)

    @on(TextArea.Changed, "#body")
    def _body_changed(self, event: TextArea.Changed) -> None:
        field = self.query_one("#field-body", FormField)
        field.set_hint(describe_cost(event.text_area.text))
        field.set_class(bool(non_gsm_characters(event.text_area.text)), "-ucs2")

    @on(Input.Changed, "#field-at Input")
    def _time_changed(self, event: Input.Changed) -> None:
        self.preview_when(self.query_one("#field-at", FormField), event.value)

    def prepare(self) -> Callable[[], ScheduledMessage]:
        app = self.app
        desk = app.desk
        at = parse_when(
            self.query_one("#field-at Input", Input).value,
            now=app.now(),
            zone=desk.practice.zone,
        )
        body = self.query_one("#body", TextArea).text

        if self.patient is not None:
            patient_id = self.patient.id
        else:
            chosen = self.query_one(PatientPicker).chosen
            if chosen is None:
                raise InvalidInput(
                    "Choose who the text is for: type their name, then pick them.",
                    field="patient",
                )
            patient_id = chosen.id

        actor, now = app.actor, app.now()
        return lambda: schedule_message(
            desk.practice,
            patient_id=patient_id,
            body=body,
            at=at,
            actor=actor,
            settings=desk.settings,
            now=now,
        )
