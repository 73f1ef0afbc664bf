"""The small dialogs every screen uses: confirm, forms, go to a date, who is
at the desk, and the list of keys."""

import logging
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Label, Select, Static, TextArea

from store.errors import InvalidInput, StoreError
from tui.connection import store_connection
from tui.format import day_label
from tui.when import DAY_HINT, parse_day
from tui.widgets.form_field import FormField
from tui.widgets.patient_picker import PatientPicker

if TYPE_CHECKING:
    from tui.app import FrontdeskApp

log = logging.getLogger(__name__)

T = TypeVar("T")

# A button with its border: what the dialog keeps free for its row of them.
BUTTON_HEIGHT = 3


class ConfirmModal(ModalScreen[bool]):
    """Ask yes or no before something that cannot be undone."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="answer-yes"),
        Binding("n", "answer(False)", "No", id="answer-no"),
        Binding("escape", "answer(False)", "Close", id="close-dialog"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class FormModal(ModalScreen[T]):
    """A dialog of fields saved through a store service.

    ``submit`` runs the save on a worker thread. An InvalidInput goes next to
    the field it names (or at the foot of the form), the dialog stays open
    and nothing typed is lost; success closes it with the result.
    """

    app: "FrontdeskApp"

    BINDINGS = [
        Binding("escape", "close_dialog", "Close", id="close-dialog"),
        Binding("ctrl+s", "submit_form", "Save", id="submit-form", priority=True),
    ]

    TITLE_TEXT = ""
    SAVE_LABEL = "Save"

    # On a 24-line terminal the longest forms are tightened (styles/app.tcss)
    # so their buttons stay in view without scrolling.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label(self.TITLE_TEXT, classes="dialog-title")
            with VerticalScroll(classes="form-fields"):
                yield from self.compose_fields()
                yield Static("", classes="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"{self.SAVE_LABEL} (ctrl+s)", variant="primary", id="save"
                )
                yield Button("Close (esc)", id="close")

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # The scrolling frame could take focus first; typing starts in a field.
        for control in self.query("Input, TextArea, Select"):
            if control.focusable:
                control.focus()
                break

    def on_resize(self) -> None:
        # The buttons stay in view however long the form grows (an error, a
        # list of matching patients): the fields scroll in what the title and
        # the buttons leave of the dialog's height.
        dialog = self.query_one(".dialog.form", Vertical)
        title = self.query_one(".dialog-title", Label)
        buttons = self.query_one(".dialog-buttons", Horizontal)
        tallest = dialog.styles.max_height
        if tallest is None:
            return
        room = (
            int(tallest.resolve(self.size, self.app.size))
            - dialog.styles.gutter.height
            - (1 + title.styles.margin.bottom)
            - max(buttons.outer_size.height, BUTTON_HEIGHT)
        )
        self.query_one(".form-fields").styles.max_height = max(room, 3)

        # A smaller terminal must not leave the field being typed in out of view.
        if self.focused is not None:
            self.call_after_refresh(self.focused.scroll_visible, animate=False)

    def action_close_dialog(self) -> None:
        self.dismiss(None)

    def action_submit_form(self) -> None:
        self.clear_errors()
        try:
            job = self.prepare()
        except InvalidInput as exc:
            self.show_error(exc)
            return
        self._run(job)

    def prepare(self) -> Callable[[], T]:
        """Read the fields (UI thread) and return the store call to make.

        Raise InvalidInput for a field that cannot even be read.
        """
        raise NotImplementedError

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_submit_form()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(PatientPicker.Picked)
    def _edited(
        self,
        event: Input.Changed | TextArea.Changed | Select.Changed | PatientPicker.Picked,
    ) -> None:
        # An error is about what was there when it was saved; once the field
        # is edited it would only mislead.
        for node in event.control.ancestors:
            if isinstance(node, FormField):
                node.edited()
                return

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        # Enter in the patient search picks a patient; anywhere else it saves.
        if event.input.id != "picker-query":
            self.action_submit_form()

    @work(thread=True, exclusive=True, group="form", exit_on_error=False)
    def _run(self, job: Callable[[], T]) -> None:
        try:
            with store_connection():
                result = job()
        except StoreError as exc:
            self.app.call_from_thread(self.show_error, exc)
            return
        except Exception:
            log.exception("Saving %s failed", type(self).__name__)
            self.app.call_from_thread(
                self.show_error,
                RuntimeError(
                    "Something went wrong and this was not saved. Try again; "
                    f"if it keeps failing, give IT the log: {self.app.log_path}."
                ),
            )
            return
        self.app.call_from_thread(self.dismiss, result)

    def show_error(self, exc: Exception) -> None:
        """Put the error beside its field, or at the foot of the form."""
        name = getattr(exc, "field", None)
        for field in self.query(FormField):
            if name is not None and name in self.field_names(field):
                field.show_error(str(exc))
                field.control.focus()
                # The error sits under the field: both must be in view.
                self.call_after_refresh(field.scroll_visible, animate=False)
                return
        general = self.query_one(".form-error", Static)
        general.update(str(exc))
        general.add_class("-shown")
        # At the foot of fields that may scroll: bring it into view.
        self.call_after_refresh(general.scroll_visible, animate=False)

    def field_names(self, field: FormField) -> tuple[str, ...]:
        """The store's names for a field; forms widen this when one input
        stands for several (a patient picker stands for the phone too)."""
        return (field.field,)

    def clear_errors(self) -> None:
        for field in self.query(FormField):
            field.clear_error()
        self.query_one(".form-error", Static).remove_class("-shown")

    def value_of(self, field: str) -> str:
        return self.query_one(f"#field-{field} Input", Input).value


class GoToDateModal(FormModal[date]):
    """Ask for a day to show."""

    TITLE_TEXT = "Go to a day"
    SAVE_LABEL = "Go"

    def __init__(self, today: date) -> None:
        super().__init__()
        self.today = today

    def compose_fields(self) -> ComposeResult:
        yield FormField(
            "Day", Input(placeholder="2026-12-14"), field="day", hint=DAY_HINT
        )

    def prepare(self) -> Callable[[], date]:
        day = parse_day(self.value_of("day"), self.today)
        return lambda: day

    @on(Input.Changed)
    def _preview(self, event: Input.Changed) -> None:
        field = self.query_one(FormField)
        try:
            field.set_hint(f"→ {day_label(parse_day(event.value, self.today))}")
        except InvalidInput:
            field.set_hint(DAY_HINT)


class DeskUserModal(FormModal[str]):
    """Say who is at the desk; their name goes on the audit trail."""

    TITLE_TEXT = "Who is at the desk?"
    SAVE_LABEL = "Use this name"

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose_fields(self) -> ComposeResult:
        yield FormField(
            "Your name",
            Input(value=self.current),
            field="actor",
            hint="Recorded with every change you make.",
        )

    def prepare(self) -> Callable[[], str]:
        name = " ".join(self.value_of("actor").split())
        if not name:
            raise InvalidInput("Type your name.", field="actor")
        if len(name) > 100:
            raise InvalidInput("Keep the name under 100 characters.", field="actor")
        return lambda: name


class HelpModal(ModalScreen[None]):
    """Every key of the screen underneath, with what it does."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close_dialog", "Close", id="close-dialog")
    ]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.under = screen

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            name = getattr(self.under, "SCREEN_NAME", "frontdesk")
            yield Label(f"Keys — {name}", classes="dialog-title")
            yield DataTable(cursor_type="none", zebra_stripes=True)
            yield Static(
                "ctrl+p opens the command palette: type to find any screen or "
                "action. The mouse works too. Esc closes a dialog.",
                classes="dialog-text",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Key", key="key")
        table.add_column("What it does", key="what")
        keys: dict[str, list[str]] = {}
        for active in self.under.active_bindings.values():
            binding = active.binding
            if binding.description:
                shown = self.app.get_key_display(binding)
                keys.setdefault(binding.description, [])
                if shown not in keys[binding.description]:
                    keys[binding.description].append(shown)
        for description, shown in keys.items():
            table.add_row(" / ".join(shown), description)

    def action_close_dialog(self) -> None:
        self.dismiss(None)
