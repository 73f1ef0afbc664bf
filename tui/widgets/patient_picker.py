"""Choosing a patient by typing part of a name or phone number."""

import logging
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from store.patients import search_patients
from store.phones import format_phone
from store.stats import latest_consents
from tui.connection import store_connection

log = logging.getLogger(__name__)

SEARCH_DELAY = 0.15
PICKER_LIMIT = 20


@dataclass(frozen=True)
class PatientChoice:
    """A patient as the picker shows them."""

    id: int
    name: str
    phone: str
    consent: bool | None  # None: never asked

    @property
    def label(self) -> str:
        mark = {True: "✓ texts", False: "✗ no texts", None: "– not asked"}
        return f"{self.name}  {self.phone}  {mark[self.consent]}"


class PatientPicker(Vertical):
    """A search box with the matching patients below it.

    Type a name or number, then pick with the arrow keys and Enter or a
    click. The search runs on a worker thread once typing pauses.
    """

    DEFAULT_CSS = """
    PatientPicker {
        height: auto;
    }
    PatientPicker > OptionList {
        height: auto;
        max-height: 6;
        border: none;
    }
    PatientPicker > .patient-picker--chosen {
        color: $success;
        padding-left: 1;
    }
    """

    BINDINGS = [
        Binding("down", "focus_results", "Results", show=False),
    ]

    class Picked(Message):
        """A patient was chosen."""

        def __init__(self, picker: "PatientPicker", choice: PatientChoice) -> None:
            super().__init__()
            self.picker = picker
            self.choice = choice

        @property
        def control(self) -> "PatientPicker":
            return self.picker

    def __init__(
        self, *, chosen: PatientChoice | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.chosen = chosen
        self._choices: list[PatientChoice] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="Type a name or phone number",
            id="picker-query",
            compact=True,
            value=self.chosen.name if self.chosen else "",
        )
        yield OptionList(id="picker-results")
        yield Static(
            self._chosen_text(), classes="patient-picker--chosen", markup=False
        )

    def on_mount(self) -> None:
        self.query_one(OptionList).display = False

    def action_focus_results(self) -> None:
        results = self.query_one(OptionList)
        if results.display and results.option_count:
            results.focus()
            # Down from the search box lands on the first match, so Enter
            # picks it; without this a second Down was needed to reach it.
            if results.highlighted is None:
                results.highlighted = 0

    @on(Input.Changed, "#picker-query")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        query = event.value
        self._timer = self.set_timer(SEARCH_DELAY, lambda: self.search(query))

    @on(Input.Submitted, "#picker-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._choices:
            self._pick(self._choices[0])

    @on(OptionList.OptionSelected, "#picker-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(self._choices[event.option_index])

    @work(thread=True, exclusive=True, group="picker", exit_on_error=False)
    def search(self, query: str) -> None:
        practice = self.app.desk.practice
        try:
            with store_connection():
                found = search_patients(practice, query, limit=PICKER_LIMIT)
                consents = latest_consents(practice, [p.id for p in found])
        except Exception:
            log.exception("Patient search failed")
            self.app.call_from_thread(
                self.app.notify,
                "The patient search failed; try again, and see the log if it "
                "keeps failing.",
                severity="error",
            )
            return

        choices = [
            PatientChoice(
                p.id,
                p.full_name,
                format_phone(p.phone, practice.region),
                consents[p.id].granted if p.id in consents else None,
            )
            for p in found
        ]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, choices, query)

    def _show(self, choices: list[PatientChoice], query: str) -> None:
        self._choices = choices
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options([Option(c.label, id=str(c.id)) for c in choices])
        results.display = bool(query.strip())
        if query.strip() and not choices:
            results.add_option(Option("No patient matches.", disabled=True))

    def _pick(self, choice: PatientChoice) -> None:
        self.chosen = choice
        self.query_one(".patient-picker--chosen", Static).update(self._chosen_text())
        self.query_one(OptionList).display = False
        self.post_message(self.Picked(self, choice))

    def _chosen_text(self) -> str:
        if self.chosen is None:
            return "No patient chosen yet."
        return f"→ {self.chosen.label}"
