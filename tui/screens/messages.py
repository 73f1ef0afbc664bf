"""The outgoing queue: filter it, cancel or retry a message, see one in full,
and write a new one."""

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Select, Static

from store.appointments import day_bounds
from store.errors import InvalidInput
from store.messages import MessageFilter, cancel_message, list_messages, retry_message
from store.models import MessageKind, MessageStatus, Patient, ScheduledMessage
from store.reminders import reminder_label
from store.stats import patients_by_id
from tui.format import status_text, when_label
from tui.screens.base import PAGE_SIZE, DeskScreen
from tui.screens.compose import ComposeModal
from tui.screens.dialogs import ConfirmModal
from tui.screens.message_detail import MessageDetailModal
from tui.when import parse_day
from tui.widgets.paged_table import PagedTable, Row

STATUS_TONES = {
    MessageStatus.SENT: "success",
    MessageStatus.FAILED: "error",
    MessageStatus.UNKNOWN: "warning",
    MessageStatus.CANCELLED: "text-muted",
    MessageStatus.EXPIRED: "text-muted",
}


@dataclass(frozen=True)
class QueuePage:
    """One page of the filtered queue, newest scheduled time first."""

    filters: MessageFilter
    offset: int
    messages: list[ScheduledMessage]
    patients: dict[int, Patient]
    has_more: bool


class MessagesScreen(DeskScreen):
    """The message queue, newest first, narrowed by status, kind and day.

    Failed and unknown messages stand out; ``c`` cancels a pending one after
    asking, ``r`` sends a failed one again, Enter shows one in full.
    """

    SCREEN_NAME = "Queue"

    BINDINGS = [
        Binding("n", "compose_message", "New text", id="compose-message"),
        Binding("c", "cancel_message", "Cancel", id="cancel-message"),
        Binding("r", "retry_message", "Retry", id="retry-message"),
        Binding("enter", "show_message", "Details", id="show-message", show=False),
        Binding("f", "focus_filters", "Filter", id="focus-filters"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = MessageFilter()
        self.page_offset = 0
        self._page: QueuePage | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="message-filters"):
            yield Select(
                [(s.value.capitalize(), s.value) for s in MessageStatus],
                prompt="Any status",
                id="filter-status",
            )
            yield Select(
                [("Reminders", MessageKind.REMINDER), ("Typed", MessageKind.MANUAL)],
                prompt="Any kind",
                id="filter-kind",
            )
            yield Input(placeholder="Any day", id="filter-day")
        yield Label("", id="messages-heading", classes="screen-heading")
        yield PagedTable(id="messages-table")
        yield Static("", id="message-line", classes="detail", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(PagedTable)
        for label, key in (
            ("When", "when"),
            ("Patient", "patient"),
            ("Kind", "kind"),
            ("Status", "status"),
            ("Tries", "tries"),
            ("Text or reason", "what"),
        ):
            table.add_column(label, key=key)
        table.focus()

    # Filters and paging

    @on(Select.Changed)
    @on(Input.Changed, "#filter-day")
    def _filter_changed(self) -> None:
        status = self.query_one("#filter-status", Select).value
        kind = self.query_one("#filter-kind", Select).value
        day_input = self.query_one("#filter-day", Input)
        start = end = None
        if day_input.value.strip():
            try:
                day = parse_day(day_input.value, self.app.today())
            except InvalidInput:
                day_input.add_class("-invalid")
                return
            start, end = day_bounds(self.app.desk.practice, day)
        day_input.remove_class("-invalid")

        self.filters = MessageFilter(
            status=None if status is Select.NULL else str(status),
            kind=None if kind is Select.NULL else str(kind),
            day_start=start,
            day_end=end,
        )
        self.page_offset = 0
        self.reload()

    @on(Input.Submitted, "#filter-day")
    def _day_entered(self) -> None:
        self.query_one(PagedTable).focus()

    @on(PagedTable.PageRequested)
    def _turn_page(self, event: PagedTable.PageRequested) -> None:
        self.page_offset = max(0, self.page_offset + event.step * PAGE_SIZE)
        self.reload()

    def read_page(self) -> QueuePage:
        practice = self.app.desk.practice
        filters, offset = self.filters, self.page_offset
        found = list_messages(
            practice,
            filters,
            limit=PAGE_SIZE + 1,
            offset=offset,
            newest_first=True,
        )
        shown = found[:PAGE_SIZE]
        return QueuePage(
            filters=filters,
            offset=offset,
            messages=shown,
            patients=patients_by_id(practice, [m.patient_id for m in shown]),
            has_more=len(found) > PAGE_SIZE,
        )

    def show_page(self, page: QueuePage) -> None:
        if (page.filters, page.offset) != (self.filters, self.page_offset):
            return
        self._page = page
        table = self.query_one(PagedTable)
        table.has_more = page.has_more
        table.has_previous = page.offset > 0
        table.show_rows([self._row(table, m, page) for m in page.messages])

        shown = len(page.messages)
        if not shown:
            heading = "No messages match. Press n to write one."
        else:
            heading = f"Messages {page.offset + 1}–{page.offset + shown}"
            heading += ", newest first"
            if page.has_more or page.offset:
                heading += " · PgUp/PgDn for more"
        self.query_one("#messages-heading", Label).update(heading)
        self._show_line()

    def _row(
        self, table: PagedTable, message: ScheduledMessage, page: QueuePage
    ) -> Row:
        zone = self.app.desk.practice.zone
        patient = page.patients.get(message.patient_id)
        status = MessageStatus(message.status)
        tone = STATUS_TONES.get(status)
        status_cell = (
            table.tone(status_text(status), tone) if tone else status_text(status)
        )
        when = (
            message.due_at
            if status == MessageStatus.PENDING
            else (message.sent_at or message.failed_at or message.scheduled_for)
        )
        return (
            str(message.id),
            (
                when_label(when, zone, self.app.today()),
                patient.full_name if patient else f"patient {message.patient_id}",
                "reminder" if message.kind == MessageKind.REMINDER else "typed",
                status_cell,
                str(message.attempts),
                _what(message),
            ),
        )

    def on_data_table_row_highlighted(self) -> None:
        self._show_line()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_message()

    def _show_line(self) -> None:
        message = self.selected()
        line = self.query_one("#message-line", Static)
        if message is None:
            line.update("")
            return
        hint = {
            MessageStatus.PENDING: "c cancels it",
            MessageStatus.FAILED: "r sends it again",
            MessageStatus.UNKNOWN: "the carrier may have it; r sends it again",
        }.get(MessageStatus(message.status), "")
        error = f"{message.last_error} " if message.last_error else ""
        line.update(
            f"{error}{'· ' + hint if hint and error else hint} · Enter for details"
        )

    # Actions

    def selected(self) -> ScheduledMessage | None:
        key = self.query_one(PagedTable).selected_key
        if self._page is None or key is None:
            return None
        for message in self._page.messages:
            if str(message.id) == key:
                return message
        return None

    def _require_selected(self) -> ScheduledMessage | None:
        message = self.selected()
        if message is None:
            self.notify("Choose a message in the list first.", severity="warning")
        return message

    def action_focus_filters(self) -> None:
        self.query_one("#filter-status", Select).focus()

    def action_compose_message(self) -> None:
        def saved(message: ScheduledMessage | None) -> None:
            if message is not None:
                self.notify("The text is in the queue.", title="Scheduled")
                self.reload()

        self.app.push_screen(ComposeModal(), saved)

    def action_show_message(self) -> None:
        if message := self._require_selected():
            self.app.push_screen(MessageDetailModal(message.id))

    def action_cancel_message(self) -> None:
        message = self._require_selected()
        if message is None:
            return
        if message.status != MessageStatus.PENDING:
            self.notify(
                f"This message is {message.status}; only pending messages can be "
                "cancelled.",
                severity="warning",
            )
            return
        desk, name = self.app.desk, self._patient_name(message)

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            actor, now = self.app.actor, self.app.now()

            def job() -> str:
                cancel_message(desk.practice, message.id, actor=actor, now=now)
                return f"Cancelled the text to {name}."

            self.run_store_action(job, what="Cancel")

        self.app.push_screen(
            ConfirmModal(
                f"Cancel the text to {name}? It will not be sent.",
                yes="Cancel the text",
                no="Keep it",
            ),
            answered,
        )

    def action_retry_message(self) -> None:
        message = self._require_selected()
        if message is None:
            return
        if message.status not in (MessageStatus.FAILED, MessageStatus.UNKNOWN):
            self.notify(
                f"This message is {message.status}; only failed ones, or ones "
                "whose outcome is unknown, can be sent again.",
                severity="warning",
            )
            return
        desk, name = self.app.desk, self._patient_name(message)
        actor, now = self.app.actor, self.app.now()

        def job() -> str:
            retry_message(
                desk.practice,
                message.id,
                actor=actor,
                settings=desk.settings,
                now=now,
            )
            return f"The text to {name} is back in the queue."

        self.run_store_action(job, what="Retry")

    def _patient_name(self, message: ScheduledMessage) -> str:
        patient = self._page.patients.get(message.patient_id) if self._page else None
        return patient.full_name if patient else "this patient"


def _what(message: ScheduledMessage) -> str:
    if message.status in (MessageStatus.FAILED, MessageStatus.UNKNOWN) and (
        message.last_error
    ):
        return message.last_error
    if message.kind == MessageKind.REMINDER and not message.body:
        return reminder_label(message.reminder_offset or 0)
    return " ".join(message.body.split())[:80]
