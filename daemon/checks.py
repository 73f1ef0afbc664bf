"""The checks a claimed message meets just before it goes: consent, the
appointment it reminds about, staleness and quiet hours, against the data as
it is then. A message that fails one is settled here with the reason; one
that passes comes back ready to send, its reminder text written.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from store.appointments import get_appointment
from store.consent import current_consent, current_consents
from store.lifecycle import cancel_claimed, defer_message, mark_expired
from store.models import (
    Appointment,
    AppointmentStatus,
    ConsentRecord,
    MessageKind,
    Patient,
    Practice,
    ScheduledMessage,
)
from store.quiet import in_quiet_hours, next_allowed
from store.reminders import describe_span, reminder_start, render_reminder
from store.settings import Settings

log = logging.getLogger(__name__)

# Claimed messages whose consents and appointments are read in one go. Small,
# so what the checks see is at most a fraction of a second old at the send.
LOOKUP_SLICE = 32

# A text handed over longer than this after its checks read consent and the
# appointment reads them again, for itself alone. With a prompt provider a
# slice goes out well within it and costs no extra query; with a slow one,
# a withdrawal or a cancelled visit must not go unseen for minutes.
RECHECK_AFTER = timedelta(seconds=1)


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    DEFERRED = "deferred"
    RETRYING = "retrying"
    IN_DOUBT = "in_doubt"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    PAUSED = "paused"
    NOT_CLAIMED = "not_claimed"


@dataclass
class Lookups:
    """What the checks read, fetched for a slice of claimed messages at once.

    One query per kind for the slice instead of one per message; each
    message still meets the checks just before its own send.
    """

    consents: dict[int, ConsentRecord | None]
    appointments: dict[int, Appointment]


@dataclass
class Prepared:
    """A claimed message with what the checks decided to send."""

    message: ScheduledMessage
    body: str
    consent_id: int | None
    practice: Practice
    appointment: Appointment | None = None
    checked_at: datetime | None = None
    """When consent and the appointment were last found good."""


class SendChecks:
    """Runs the send-time checks for one set of settings.

    ``practice(id)`` gives a practice by id, cached by the caller.
    """

    def __init__(self, settings: Settings, practice: Callable[[int], Practice]) -> None:
        self.settings = settings
        self._practice = practice

    def look_up(self, messages: Sequence[ScheduledMessage]) -> Lookups | None:
        """Read the consents and reminder appointments of a slice at once;
        None (each message then reads its own) if that fails."""
        try:
            return self._look_up(messages)
        except Exception:
            log.exception("Could not read a slice's consents and appointments")
            return None

    def _look_up(self, messages: Sequence[ScheduledMessage]) -> Lookups:
        consents = current_consents(m.patient_id for m in messages)

        wanted: dict[int, set[int]] = {}
        for m in messages:
            if m.kind == MessageKind.REMINDER and m.appointment_id:
                wanted.setdefault(m.practice_id, set()).add(m.appointment_id)
        appointments: dict[int, Appointment] = {}
        for practice_id, ids in wanted.items():
            practice = self._practice(practice_id)
            query = (
                Appointment.select(Appointment, Patient)
                .join(Patient)
                .where((Appointment.practice == practice) & Appointment.id.in_(ids))
            )
            for appointment in query:
                appointment.practice = practice
                appointments[appointment.id] = appointment
        return Lookups(consents, appointments)

    def prepare(
        self,
        message: ScheduledMessage,
        practice: Practice,
        now: datetime,
        lookups: Lookups | None = None,
    ) -> Prepared | Outcome:
        """Consent, staleness and quiet hours, in that order; the rendered text."""
        if lookups is not None and message.patient_id in lookups.consents:
            consent = lookups.consents[message.patient_id]
        else:
            consent = current_consent(message.patient_id)
        if consent is None:
            return self._refuse_without_consent(message, now)

        appointment = None
        if message.kind == MessageKind.REMINDER:
            appointment_id = message.appointment_id or 0
            if lookups is not None and appointment_id in lookups.appointments:
                appointment = lookups.appointments[appointment_id]
            else:
                appointment = get_appointment(practice, appointment_id)
                appointment.practice = practice
            verdict = self._check_reminder(message, appointment, now)
            if verdict is not None:
                return verdict

        verdict = self.check_clock(message, appointment, practice, now)
        if verdict is not None:
            return verdict

        if appointment is not None:
            body = render_reminder(
                appointment, practice, self.settings.reminders.template
            )
        else:
            body = message.body
        return Prepared(message, body, consent.id, practice, appointment, now)

    def recheck(self, prepared: Prepared, now: datetime) -> Outcome | None:
        """Consent and the appointment again, read now for this text alone;
        None while they still allow it (``prepared`` then holds them fresh).

        For a text whose slice was checked more than RECHECK_AFTER ago.
        """
        message = prepared.message
        consent = current_consent(message.patient_id)
        if consent is None:
            return self._refuse_without_consent(message, now)
        prepared.consent_id = consent.id

        if prepared.appointment is not None:
            practice = prepared.practice
            appointment = get_appointment(practice, prepared.appointment.id)
            appointment.practice = practice
            verdict = self._check_reminder(message, appointment, now)
            if verdict is not None:
                return verdict

            # The text stored for this attempt must be the one that goes; a
            # changed provider or name means writing it again, next pass.
            body = render_reminder(
                appointment, practice, self.settings.reminders.template
            )
            if body != prepared.body:
                reason = "The appointment's details changed; its text is written again."
                defer_message(message, now, reason, now=now, forget_body=True)
                return Outcome.DEFERRED
            prepared.appointment = appointment

        prepared.checked_at = now
        return None

    def _refuse_without_consent(
        self, message: ScheduledMessage, now: datetime
    ) -> Outcome:
        reason = (
            "Not sent: the patient has no SMS consent now (it was withdrawn "
            "after this was scheduled)."
        )
        cancel_claimed(message, reason, "no_consent", now=now)
        log.warning("Message %s not sent: no consent at send time", message.id)
        return Outcome.CANCELLED

    def _check_reminder(
        self,
        message: ScheduledMessage,
        appointment,
        now: datetime,  # type: ignore[no-untyped-def]
    ) -> Outcome | None:
        if appointment.status != AppointmentStatus.CONFIRMED:
            reason = f"Not sent: the appointment is {appointment.status}."
            cancel_claimed(message, reason, "appointment", now=now)
            log.warning("Reminder %s not sent: appointment not confirmed", message.id)
            return Outcome.CANCELLED

        verdict = self.check_started(message, appointment, now)
        if verdict is not None:
            return verdict

        if reminder_start(message) != appointment.starts_at:
            # The appointment moved behind the store's back; put the row back
            # and let the reminder rules place it for the new time.
            from store.reminders import sync_reminders

            defer_message(
                message, now, "The appointment has moved.", now=now, forget_body=True
            )
            sync_reminders(appointment, self.settings, now=now)
            return Outcome.DEFERRED
        return None

    def check_started(
        self, message: ScheduledMessage, appointment: Appointment, now: datetime
    ) -> Outcome | None:
        if appointment.starts_at <= now:
            reason = "Expired: the appointment had already started."
            mark_expired(message, reason, now=now)
            log.warning("Reminder %s expired: its appointment has started", message.id)
            return Outcome.EXPIRED
        return None

    def check_clock(
        self,
        message: ScheduledMessage,
        appointment: Appointment | None,
        practice: Practice,
        now: datetime,
    ) -> Outcome | None:
        """Lateness and quiet hours: the checks that a later moment can fail."""
        late_by = now - self._intended_time(message, practice)
        if late_by > self.settings.sending.max_lateness:
            reason = (
                f"Expired: it would have gone {describe_span(late_by)} late "
                f"(the limit is {describe_span(self.settings.sending.max_lateness)})."
            )
            mark_expired(message, reason, now=now)
            log.warning("Message %s expired: %s late", message.id, late_by)
            return Outcome.EXPIRED

        window = self.settings.sending.quiet_hours
        if window is not None and in_quiet_hours(now, practice.zone, window):
            return self._respect_quiet_hours(message, appointment, practice, now)
        return None

    def _intended_time(self, message: ScheduledMessage, practice: Practice) -> datetime:
        # Lateness counts from the first moment the message was allowed to go,
        # so a text deferred past quiet hours is not late for having waited.
        window = self.settings.sending.quiet_hours
        intended = min(message.scheduled_for, message.due_at)
        if window is None:
            return intended
        return next_allowed(intended, practice.zone, window)

    def _respect_quiet_hours(
        self,
        message: ScheduledMessage,
        appointment,  # type: ignore[no-untyped-def]
        practice: Practice,
        now: datetime,
    ) -> Outcome:
        window = self.settings.sending.quiet_hours
        assert window is not None
        opens = next_allowed(now, practice.zone, window)
        local = opens.astimezone(practice.zone)

        if appointment is not None:
            latest = appointment.starts_at - self.settings.reminders.min_lead
            if opens > latest:
                reason = (
                    f"Expired: quiet hours last until {local:%H:%M}, leaving less "
                    f"than {describe_span(self.settings.reminders.min_lead)} before "
                    "the appointment."
                )
                mark_expired(message, reason, now=now)
                log.warning("Reminder %s expired in quiet hours", message.id)
                return Outcome.EXPIRED

        reason = f"Quiet hours: waiting until {local:%H:%M} practice time."
        defer_message(message, opens.astimezone(UTC), reason, now=now)
        log.warning("Message %s deferred to the end of quiet hours", message.id)
        return Outcome.DEFERRED
