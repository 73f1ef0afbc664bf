"""Everything about one message: its attempts, errors, provider id and
appointment, and what staff and the daemon did to it."""

import logging
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from store.audit import events_for
from store.messages import get_message
from store.models import ScheduledMessage
from store.patients import get_patient
from store.phones import format_phone
from store.reminders import reminder_label
from tui.connection import store_connection
from tui.format import status_text

log = logging.getLogger(__name__)


class MessageDetailModal(ModalScreen[None]):
    """One message in full, read fresh from the store."""

    BINDINGS = [Binding("escape,q", "close_dialog", "Close", id="close-dialog")]

    def __init__(self, message_id: int) -> None:
        super().__init__()
        self.message_id = message_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog detail-dialog"):
            yield Label(f"Message {self.message_id}", classes="dialog-title")
            yield Static("Loading…", id="message-facts", markup=False)
            yield Label("Esc to close", classes="dialog-hint")

    def on_mount(self) -> None:
        self._load()

    def action_close_dialog(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        practice = self.app.desk.practice
        try:
            with store_connection():
                message = get_message(practice, self.message_id)
                patient = get_patient(practice, message.patient_id)
                appointment = message.appointment if message.appointment_id else None
                events = events_for(practice, message)
                text = self._describe(message, patient, appointment, events)
        except Exception as exc:
            log.exception("Reading message %s failed", self.message_id)
            text = f"Could not read this message: {exc}"
        self.app.call_from_thread(self.query_one("#message-facts", Static).update, text)

    def _describe(  # type: ignore[no-untyped-def]
        self, message: ScheduledMessage, patient, appointment, events
    ) -> str:
        practice = self.app.desk.practice
        zone = practice.zone

        def at(instant: datetime | None) -> str:
            if instant is None:
                return "—"
            local = instant.astimezone(zone)
            return f"{local:%a} {local.day} {local:%b %Y %H:%M:%S %Z}"

        kind = (
            reminder_label(message.reminder_offset or 0)
            if message.kind == "reminder"
            else "message typed by staff"
        )
        lines = [
            f"Status:      {status_text(message.status)}",
            f"To:          {patient.full_name}, "
            f"{format_phone(message.to_number, practice.region)}",
            f"Kind:        {kind}",
            f"Asked for:   {at(message.scheduled_for)}",
            f"Next try at: {at(message.due_at)}",
            f"Attempts:    {message.attempts}",
            f"Sent:        {at(message.sent_at)}",
            f"Failed:      {at(message.failed_at)}",
            f"Cancelled:   {at(message.cancelled_at)}",
            f"Expired:     {at(message.expired_at)}",
            f"Provider id: {message.provider_sid or '—'}",
            f"Segments:    {message.segments or '—'}",
            f"Created by:  {message.created_by} at {at(message.created_at)}",
        ]
        if message.last_error or message.last_error_code:
            lines.append(
                f"Last error:  {message.last_error} "
                f"({message.last_error_code or 'no code'})"
            )
        if appointment is not None:
            lines.append(
                f"Appointment: {at(appointment.starts_at)} with "
                f"{appointment.provider or practice.name} ({appointment.status})"
            )
        lines += ["", "Text:", message.body or "(written when it is sent)", ""]
        lines.append("History:")
        for event in events:
            detail = f" {event.detail}" if event.detail else ""
            lines.append(f"  {at(event.at)}  {event.actor}: {event.action}{detail}")
        return "\n".join(lines)
