"""Today at a glance: the day's appointments, the queue, and the daemon."""

from dataclasses import dataclass
from datetime import date, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from store.appointments import appointments_between, day_bounds
from store.health import DaemonHealth, read_health
from store.messages import count_by_status
from store.models import Appointment, MessageStatus, ScheduledMessage
from store.stats import DayOutcome, daily_outcomes, reminders_by_appointment
from tui.format import age_label, day_label
from tui.screens.appointment_rows import (
    add_appointment_columns,
    appointment_detail,
    appointment_row,
)
from tui.screens.base import PAGE_SIZE, DeskScreen
from tui.widgets.outcome_chart import OutcomeChart
from tui.widgets.paged_table import PagedTable

CHART_DAYS = 14

# The order the counts read in, and the colour of a count above zero.
QUEUE_ORDER = (
    (MessageStatus.PENDING, ""),
    (MessageStatus.SENDING, ""),
    (MessageStatus.SENT, ""),
    (MessageStatus.FAILED, "$text-error"),
    (MessageStatus.UNKNOWN, "$text-warning"),
    (MessageStatus.CANCELLED, ""),
    (MessageStatus.EXPIRED, ""),
)


@dataclass(frozen=True)
class TodayPage:
    """Everything the Today screen shows, read in one go."""

    day: date
    now: datetime
    appointments: list[Appointment]
    reminders: dict[int, list[ScheduledMessage]]
    counts: dict[str, int]
    health: DaemonHealth
    outcomes: list[DayOutcome]


class TodayScreen(DeskScreen):
    """The day's appointments beside the queue's counts, the daemon's health
    and a fortnight of sends; problems stand out in the theme's warning and
    error colours."""

    SCREEN_NAME = "Today"

    BINDINGS = [
        Binding("r", "refresh_page", "Refresh", id="refresh-page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._page: TodayPage | None = None
        self._detail_shown = ""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="today"):
            with Vertical(id="today-appointments"):
                yield Label("Today", id="today-heading", classes="screen-heading")
                yield PagedTable(id="today-table")
                yield Static("", id="today-detail", classes="detail", markup=False)
            with Vertical(id="today-side"):
                yield Static("", id="queue-panel", classes="side-panel")
                yield Static("", id="health-panel", classes="side-panel")
                yield OutcomeChart(id="outcome-chart", classes="side-panel")

    def on_mount(self) -> None:
        # The provider is in the detail line: the reminders need the room.
        add_appointment_columns(self.query_one(PagedTable), provider=False)
        self.query_one("#queue-panel").border_title = "Queue"
        self.query_one("#health-panel").border_title = "Daemon"
        self.query_one(OutcomeChart).border_title = f"Last {CHART_DAYS} days"

    def read_page(self) -> TodayPage:
        practice = self.app.desk.practice
        now = self.app.now()
        day = self.app.today()
        start, end = day_bounds(practice, day)
        appointments = appointments_between(practice, start, end, limit=PAGE_SIZE)
        return TodayPage(
            day=day,
            now=now,
            appointments=appointments,
            reminders=reminders_by_appointment(practice, [a.id for a in appointments]),
            counts=count_by_status(practice),
            health=read_health(practice),
            outcomes=daily_outcomes(practice, CHART_DAYS, now),
        )

    def show_page(self, page: TodayPage) -> None:
        self._page = page
        zone = self.app.desk.practice.zone
        table = self.query_one(PagedTable)
        table.show_rows(
            [
                appointment_row(
                    table, a, page.reminders[a.id], zone, page.day, provider=False
                )
                for a in page.appointments
            ]
        )
        count = len(page.appointments)
        self.query_one("#today-heading", Label).update(
            f"Today · {day_label(page.day)} · "
            f"{count} appointment{'s' if count != 1 else ''}"
        )
        self._show_detail()
        self._show_queue(page.counts)
        self._show_health(page.health, page.now)
        self.query_one(OutcomeChart).show(page.outcomes)

    def on_data_table_row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        page = self._page
        key = self.query_one(PagedTable).selected_key
        found = [a for a in page.appointments if str(a.id) == key] if page else []
        if not found or page is None:
            self._update_detail("No appointments today." if page else "")
            return
        practice = self.app.desk.practice
        appointment = found[0]
        self._update_detail(
            appointment_detail(
                appointment,
                page.reminders[appointment.id],
                practice.zone,
                practice.region,
                page.day,
            )
        )

    def _update_detail(self, text: str) -> None:
        # The cursor's first highlight repeats what the page showed: an
        # unchanged detail would cost another layout pass for nothing.
        if text != self._detail_shown:
            self._detail_shown = text
            self.query_one("#today-detail", Static).update(text)

    def _show_queue(self, counts: dict[str, int]) -> None:
        cells = []
        for status, colour in QUEUE_ORDER:
            count = counts.get(str(status), 0)
            cell = f"{status.capitalize():<9}{count:>4}"
            if colour and count:
                cell = f"[bold {colour}]{cell}[/]"
            cells.append(cell)
        lines = [" ".join(cells[i : i + 2]) for i in range(0, len(cells), 2)]

        panel = self.query_one("#queue-panel", Static)
        panel.update("\n".join(lines))
        trouble = counts.get(MessageStatus.FAILED, 0) + counts.get(
            MessageStatus.UNKNOWN, 0
        )
        panel.set_class(bool(trouble), "-error")
        panel.border_subtitle = "F4 to see them" if trouble else ""

    def _show_health(self, health: DaemonHealth, now: datetime) -> None:
        panel = self.query_one("#health-panel", Static)
        age = health.sweep_age(now)
        stale = health.is_stale(now)

        if age is None:
            lines = [
                "[bold $text-warning]⚠ The daemon has never run.[/]",
                "No texts go out until IT starts the frontdesk-daemon service.",
            ]
        elif stale:
            lines = [
                f"[bold $text-warning]⚠ Last sweep {age_label(age)} ago.[/]",
                "Texts are not going out; ask IT to check the frontdesk-daemon "
                "service (frontdesk status).",
            ]
        else:
            lines = [
                f"[$text-success]✓[/] Last sweep {age_label(age)} ago",
                f"Sending through: {health.gateway or 'unknown'}",
            ]
        if health.error:
            lines.append(f"[$text-error]Error: {_escape(health.error)}[/]")

        panel.update("\n".join(lines))
        panel.set_class(stale, "-warning")
        panel.set_class(bool(health.error) and not stale, "-error")

    def action_refresh_page(self) -> None:
        self.reload()

    def on_data_table_row_selected(self) -> None:
        self.app.switch_mode("appointments")


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
