"""Patients: find them as you type, add and edit them, and keep a record of
their SMS consent."""

import logging
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import get_current_worker

from store.consent import SOURCE_LABELS, consent_history
from store.models import ConsentRecord, ConsentSource, Patient
from store.patients import count_patients, search_patients
from store.stats import latest_consents
from tui.connection import store_connection
from tui.format import phone_label, when_label
from tui.screens.base import DeskScreen
from tui.screens.patient_forms import ConsentModal, PatientModal
from tui.widgets.paged_table import PagedTable, Row

log = logging.getLogger(__name__)

SEARCH_DELAY = 0.15

# Smaller than the other lists' pages: the list is redrawn on every pause in
# typing, and the cost is in drawing rows. Two screens' worth still shows.
PAGE_SIZE = 50

# The consent history follows the cursor once it stops, not on every row it
# passes while an arrow key is held.
HISTORY_DELAY = 0.15


@dataclass(frozen=True)
class PatientPage:
    """One page of search results, and each patient's latest consent."""

    query: str
    offset: int
    total: int | None  # known only for the unfiltered list
    patients: list[Patient]
    consents: dict[int, ConsentRecord]
    has_more: bool


class PatientsScreen(DeskScreen):
    """Search patients by name or number as you type; the panel on the right
    shows the highlighted patient's consent and its whole history."""

    SCREEN_NAME = "Patients"

    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="focus-search"),
        Binding("a", "add_patient", "Add", id="add-patient"),
        Binding("e", "edit_patient", "Edit", id="edit-patient"),
        Binding("g", "grant_consent", "Grant SMS", id="grant-consent"),
        Binding("v", "revoke_consent", "Revoke SMS", id="revoke-consent"),
        Binding("m", "message_patient", "Text", id="message-patient"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.search_text = ""
        self.page_offset = 0
        self._page: PatientPage | None = None
        self._timer: Timer | None = None
        self._history_timer: Timer | None = None
        self._history_for: int | None = None
        self._history_shown: list[tuple[str, ...]] = []
        self._summary_shown = ""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="patients"):
            with Vertical(id="patients-list"):
                yield Input(
                    placeholder="Search by name or phone · Enter or ↓ for the list",
                    id="patient-search",
                )
                yield Label("", id="patients-heading", classes="screen-heading")
                yield PagedTable(id="patients-table")
            with Vertical(id="consent-panel"):
                yield Static("", id="consent-summary", markup=False)
                yield DataTable(id="consent-history", cursor_type="none")

    def on_mount(self) -> None:
        table = self.query_one(PagedTable)
        table.add_column("Name", key="name")
        table.add_column("Mobile", key="phone")
        table.add_column("Texts", key="consent")
        history = self.query_one("#consent-history", DataTable)
        history.add_column("When", key="when")
        history.add_column("", key="what")
        history.add_column("How", key="source")
        history.add_column("By", key="by")
        history.add_column("Note", key="note")
        self.query_one("#consent-panel").border_title = "SMS consent"

    # Search and paging

    @on(Input.Changed, "#patient-search")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, lambda: self.search(event.value))

    def search(self, text: str) -> None:
        self.search_text, self.page_offset = text, 0
        self.reload()

    @on(Input.Submitted, "#patient-search")
    def _to_list(self) -> None:
        self.query_one(PagedTable).focus()

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key == "down" and self.focused is self.query_one("#patient-search"):
            self.query_one(PagedTable).focus()
            event.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "/ Search" is no use in the footer while the search has the keys.
        if action == "focus_search":
            return not isinstance(self.focused, Input)
        return True

    @on(PagedTable.PageRequested)
    def _turn_page(self, event: PagedTable.PageRequested) -> None:
        self.page_offset = max(0, self.page_offset + event.step * PAGE_SIZE)
        self.reload()

    def read_page(self) -> PatientPage:
        practice = self.app.desk.practice
        query, offset = self.search_text, self.page_offset
        found = search_patients(practice, query, limit=PAGE_SIZE + 1, offset=offset)
        shown = found[:PAGE_SIZE]
        return PatientPage(
            query=query,
            offset=offset,
            total=None if query.strip() else count_patients(practice),
            patients=shown,
            consents=latest_consents(practice, [p.id for p in shown]),
            has_more=len(found) > PAGE_SIZE,
        )

    def show_page(self, page: PatientPage) -> None:
        if (page.query, page.offset) != (self.search_text, self.page_offset):
            return  # the person has typed on since
        self._page = page
        table = self.query_one(PagedTable)
        table.has_more = page.has_more
        table.has_previous = page.offset > 0
        consent = {
            None: table.tone("– not asked", "text-muted"),
            True: table.tone("✓ yes", "success"),
            False: table.tone("✗ no", "error"),
        }
        table.show_rows([self._row(p, page, consent) for p in page.patients])

        shown = len(page.patients)
        if page.total is not None:
            heading = f"{page.total:,} patients"
        elif page.has_more:
            heading = f"more than {page.offset + shown} match"
        else:
            heading = f"{page.offset + shown} match{'es' if shown != 1 else ''}"
        if page.has_more or page.offset:
            first, last = page.offset + 1, page.offset + shown
            heading += f" · showing {first}–{last} (PgUp/PgDn)"
        label = self.query_one("#patients-heading", Label)
        if str(label.content) != heading:
            # Its size is fixed in the stylesheet: no layout needed.
            label.update(heading, layout=False)

        # A re-read also re-reads the history: a STOP reply may have added to it.
        self._show_selected(reload=True)

    def _row(
        self, patient: Patient, page: PatientPage, consent: dict[bool | None, Text]
    ) -> Row:
        record = page.consents.get(patient.id)
        return (
            str(patient.id),
            (
                patient.full_name,
                phone_label(patient.phone, self._region),
                consent[None if record is None else record.granted],
            ),
        )

    # The consent panel

    @property
    def history_pending(self) -> bool:
        """True while the consent history waits for the cursor to rest."""
        return self._history_timer is not None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "patients-table":
            self._show_selected(reload=False)

    def _show_selected(self, *, reload: bool) -> None:
        """Show the highlighted patient's consent at once, from the page, and
        read their whole history once the cursor has rested on them."""
        patient = self.selected()
        if patient is not None and patient.id == self._history_for and not reload:
            return  # still on the same patient: nothing new to show

        if self._history_timer is not None:
            self._history_timer.stop()
            self._history_timer = None

        if patient is None or self._page is None:
            self._history_for = None
            self._show_summary("No patient matches. Press a to add one.")
            self._show_history_rows([])
            return
        if patient.id != self._history_for:
            self._history_for = patient.id
            # Another patient's rows must not sit under this one's name.
            self._show_history_rows([])
        latest = self._page.consents.get(patient.id)
        self._show_summary(_summary(patient, latest, self._region))

        def rested() -> None:
            self._history_timer = None
            self._load_history(patient)

        self._history_timer = self.set_timer(HISTORY_DELAY, rested)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _load_history(self, patient: Patient) -> None:
        try:
            with store_connection():
                history = consent_history(self.app.desk.practice, patient.id)
        except Exception:
            log.exception("Reading consent history of patient %s failed", patient.id)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_history, patient, history)

    def _show_history(self, patient: Patient, history: list[ConsentRecord]) -> None:
        if patient.id != self._history_for:
            return
        latest = history[0] if history else None
        self._show_summary(_summary(patient, latest, self._region))

        zone = self.app.desk.practice.zone
        today = self.app.today()
        self._show_history_rows(
            [
                (
                    when_label(record.recorded_at, zone, today),
                    "granted" if record.granted else "revoked",
                    SOURCE_LABELS.get(ConsentSource(record.source), record.source),
                    record.recorded_by,
                    record.note,
                )
                for record in history
            ]
        )

    @property
    def _region(self) -> str:
        return self.app.desk.practice.region

    def _show_summary(self, text: str) -> None:
        if text != self._summary_shown:
            self._summary_shown = text
            self.query_one("#consent-summary", Static).update(text)

    def _show_history_rows(self, rows: list[tuple[str, ...]]) -> None:
        if rows == self._history_shown:
            return  # a re-read that found nothing new: no redraw
        self._history_shown = rows
        table = self.query_one("#consent-history", DataTable)
        table.clear()
        table.add_rows(rows)

    # Actions

    def selected(self) -> Patient | None:
        key = self.query_one(PagedTable).selected_key
        if self._page is None or key is None:
            return None
        for patient in self._page.patients:
            if str(patient.id) == key:
                return patient
        return None

    def _require_selected(self) -> Patient | None:
        patient = self.selected()
        if patient is None:
            self.notify("Choose a patient in the list first.", severity="warning")
        return patient

    def action_focus_search(self) -> None:
        self.query_one("#patient-search", Input).focus()

    def action_add_patient(self) -> None:
        self.app.push_screen(PatientModal(), self._patient_saved)

    def action_edit_patient(self) -> None:
        if patient := self._require_selected():
            self.app.push_screen(PatientModal(patient), self._patient_saved)

    def _patient_saved(self, patient: Patient | None) -> None:
        if patient is not None:
            self.notify(f"Saved {patient.full_name}.", title="Patient")
            self.reload()

    def action_grant_consent(self) -> None:
        if patient := self._require_selected():
            self.app.push_screen(
                ConsentModal(patient, grant=True), self._consent_recorded
            )

    def action_revoke_consent(self) -> None:
        if patient := self._require_selected():
            self.app.push_screen(
                ConsentModal(patient, grant=False), self._consent_recorded
            )

    def _consent_recorded(self, record: ConsentRecord | None) -> None:
        if record is None:
            return
        if record.granted:
            text = "Consent recorded; reminders for confirmed visits are back."
        else:
            text = "Opt-out recorded; every pending text to them is cancelled."
        self.notify(text, title="SMS consent")
        self.reload()

    def action_message_patient(self) -> None:
        from tui.screens.compose import ComposeModal

        if patient := self._require_selected():
            self.app.push_screen(ComposeModal(patient=patient))


def _summary(patient: Patient, latest: ConsentRecord | None, region: str) -> str:
    """The consent panel's first lines: who, their number, and their consent."""
    if latest is None:
        state = "Never asked: no texts are sent until consent is recorded."
    elif latest.granted:
        state = "✓ Agreed to texts."
    else:
        state = "✗ Does not want texts: none are sent."
    return f"{patient.full_name} · {phone_label(patient.phone, region)}\n{state}"
