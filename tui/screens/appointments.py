"""Appointments one practice-local day at a time: book, edit, move, confirm
and cancel them, and see where their reminders stand."""

from dataclasses import dataclass
from datetime import date, timedelta

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, Static

from store.appointments import (
    appointments_between,
    day_bounds,
    set_appointment_status,
)
from store.models import Appointment, AppointmentStatus, ScheduledMessage
from store.stats import count_appointments_between, reminders_by_appointment
from tui.format import clock, day_label
from tui.screens.appointment_forms import AppointmentModal, RescheduleModal
from tui.screens.appointment_rows import (
    add_appointment_columns,
    appointment_detail,
    appointment_row,
)
from tui.screens.base import PAGE_SIZE, DeskScreen
from tui.screens.dialogs import ConfirmModal, GoToDateModal
from tui.widgets.paged_table import PagedTable

DAY_KEYS = Binding.Group("Day")


@dataclass(frozen=True)
class DayPage:
    """One page of one day's appointments, with their reminders."""

    day: date
    offset: int
    total: int
    appointments: list[Appointment]
    reminders: dict[int, list[ScheduledMessage]]
    has_more: bool


class AppointmentsScreen(DeskScreen):
    """A day's appointments in practice time, with each one's reminders
    ("24 h ✓ sent · 2 h pending 07:30") and why any were skipped."""

    SCREEN_NAME = "Appointments"

    BINDINGS = [
        Binding(
            "left_square_bracket",
            "change_day(-1)",
            "Prev day",
            id="previous-day",
            group=DAY_KEYS,
        ),
        Binding(
            "right_square_bracket",
            "change_day(1)",
            "Next day",
            id="next-day",
            group=DAY_KEYS,
        ),
        Binding("t", "show_today", "Today", id="show-today-appointments", show=False),
        # [ and ] are the way round the days; g is in the help screen.
        Binding("g", "go_to_day", "Go to day", id="go-to-day", show=False),
        Binding("a", "add_appointment", "Book", id="add-appointment"),
        Binding("e", "edit_appointment", "Edit", id="edit-appointment"),
        Binding("r", "reschedule_appointment", "Move", id="reschedule-appointment"),
        Binding("c", "confirm_appointment", "Confirm", id="confirm-appointment"),
        Binding("x", "cancel_appointment", "Cancel appt", id="cancel-appointment"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day = self.app.today()
        self.page_offset = 0
        self._page: DayPage | None = None

    def compose_body(self) -> ComposeResult:
        yield Label("", id="appointments-heading", classes="screen-heading")
        yield PagedTable(id="appointments-table")
        yield Static("", id="appointment-detail", classes="detail", markup=False)

    def on_mount(self) -> None:
        add_appointment_columns(self.query_one(PagedTable))

    def read_page(self) -> DayPage:
        practice = self.app.desk.practice
        day, offset = self.day, self.page_offset
        start, end = day_bounds(practice, day)
        rows = appointments_between(
            practice, start, end, limit=PAGE_SIZE + 1, offset=offset
        )
        shown = rows[:PAGE_SIZE]
        return DayPage(
            day=day,
            offset=offset,
            total=count_appointments_between(practice, start, end),
            appointments=shown,
            reminders=reminders_by_appointment(practice, [a.id for a in shown]),
            has_more=len(rows) > PAGE_SIZE,
        )

    def show_page(self, page: DayPage) -> None:
        if (page.day, page.offset) != (self.day, self.page_offset):
            return  # read for a day the person has already left
        self._page = page
        zone = self.app.desk.practice.zone
        table = self.query_one(PagedTable)
        table.has_more = page.has_more
        table.has_previous = page.offset > 0
        table.show_rows(
            [
                appointment_row(table, a, page.reminders[a.id], zone, page.day)
                for a in page.appointments
            ]
        )

        heading = f"{day_label(page.day)}"
        if page.day == self.app.today():
            heading += " (today)"
        heading += f" · {page.total} appointment{'s' if page.total != 1 else ''}"
        if page.has_more or page.offset:
            last = page.offset + len(page.appointments)
            heading += f" · showing {page.offset + 1}–{last} (PgUp/PgDn)"
        self.query_one("#appointments-heading", Label).update(heading)
        self._show_detail()

    def on_data_table_row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#appointment-detail", Static)
        appointment = self.selected()
        if appointment is None or self._page is None:
            detail.update("No appointments on this day. Press a to book one.")
            return
        practice = self.app.desk.practice
        detail.update(
            appointment_detail(
                appointment,
                self._page.reminders[appointment.id],
                practice.zone,
                practice.region,
                self._page.day,
            )
        )

    @on(PagedTable.PageRequested)
    def _turn_page(self, event: PagedTable.PageRequested) -> None:
        self.page_offset = max(0, self.page_offset + event.step * PAGE_SIZE)
        self.reload()

    def selected(self) -> Appointment | None:
        key = self.query_one(PagedTable).selected_key
        if self._page is None or key is None:
            return None
        for appointment in self._page.appointments:
            if str(appointment.id) == key:
                return appointment
        return None

    def _require_selected(self) -> Appointment | None:
        appointment = self.selected()
        if appointment is None:
            self.notify("Choose an appointment in the list first.", severity="warning")
        return appointment

    def show_day(self, day: date) -> None:
        self.day, self.page_offset = day, 0
        self.query_one("#appointments-heading", Label).update(
            f"{day_label(day)} · loading…"
        )
        self.reload()

    def action_change_day(self, step: int) -> None:
        self.show_day(self.day + timedelta(days=step))

    def action_show_today(self) -> None:
        self.show_day(self.app.today())

    def action_go_to_day(self) -> None:
        def chosen(day: date | None) -> None:
            if day is not None:
                self.show_day(day)

        self.app.push_screen(GoToDateModal(self.app.today()), chosen)

    def action_add_appointment(self) -> None:
        self.app.push_screen(AppointmentModal(), self._saved)

    def action_edit_appointment(self) -> None:
        if appointment := self._require_selected():
            self.app.push_screen(AppointmentModal(appointment), self._saved)

    def action_reschedule_appointment(self) -> None:
        if appointment := self._require_selected():
            self.app.push_screen(RescheduleModal(appointment), self._saved)

    def _saved(self, appointment: Appointment | None) -> None:
        if appointment is None:
            return
        zone = self.app.desk.practice.zone
        local = appointment.starts_at.astimezone(zone)
        note = (
            f" {appointment.reminder_note.rstrip('.')}."
            if appointment.reminder_note
            else ""
        )
        self.notify(
            f"Saved: {day_label(local.date())} at {clock(appointment.starts_at, zone)}."
            + note,
            title="Appointment",
        )
        self.show_day(local.date())

    def action_confirm_appointment(self) -> None:
        if appointment := self._require_selected():
            self._set_status(appointment, AppointmentStatus.CONFIRMED, "Confirmed")

    def action_cancel_appointment(self) -> None:
        appointment = self._require_selected()
        if appointment is None:
            return
        local = appointment.starts_at.astimezone(self.app.desk.practice.zone)

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_status(appointment, AppointmentStatus.CANCELLED, "Cancelled")

        self.app.push_screen(
            ConfirmModal(
                f"Cancel {appointment.patient.full_name}'s appointment on "
                f"{day_label(local.date())} at {local:%H:%M}? Its reminders "
                "will not go out.",
                yes="Cancel appointment",
                no="Keep it",
            ),
            answered,
        )

    def _set_status(
        self, appointment: Appointment, status: AppointmentStatus, done: str
    ) -> None:
        desk, actor, now = self.app.desk, self.app.actor, self.app.now()
        name = appointment.patient.full_name

        def job() -> str:
            saved = set_appointment_status(
                desk.practice,
                appointment.id,
                status,
                actor=actor,
                settings=desk.settings,
                now=now,
            )
            note = f" {saved.reminder_note.rstrip('.')}." if saved.reminder_note else ""
            return f"{done}: {name}.{note}"

        self.run_store_action(job, what="Appointment")
