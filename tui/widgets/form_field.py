"""A labelled form field with its error shown right beneath it."""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, Static

# Stands for "no value was refused yet", which no control's value equals.
_NOTHING_REFUSED = object()


class FormField(Vertical):
    """A label, one input widget, and a line for that input's error.

    ``field`` is the name the store uses in ``InvalidInput.field``, so a form
    can put the store's message beside the input it is about.
    """

    DEFAULT_CSS = """
    FormField {
        height: auto;
        margin-bottom: 1;
    }
    FormField > .form-field--label {
        color: $text-muted;
    }
    FormField > .form-field--error {
        color: $error;
        display: none;
    }
    FormField.-has-error > .form-field--error {
        display: block;
    }
    FormField > .form-field--hint {
        color: $text-muted;
    }
    """

    def __init__(
        self,
        label: str,
        control: Widget,
        *,
        field: str,
        hint: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id or f"field-{field}")
        self.label = label
        self.control = control
        # Borderless inputs, so a whole form fits a 24-line terminal.
        if hasattr(control, "compact"):
            control.compact = True
        self.field = field
        self.hint = hint

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="form-field--label")
        yield self.control
        hint = Static(self.hint, classes="form-field--hint", markup=False)
        hint.display = bool(self.hint)
        yield hint
        yield Static("", classes="form-field--error", markup=False)

    def show_error(self, message: str) -> None:
        self.query_one(".form-field--error", Static).update(message)
        self.add_class("-has-error")
        self._refused = self.value

    def clear_error(self) -> None:
        self.remove_class("-has-error")

    def edited(self) -> None:
        """Drop the error once the value differs from the one it was about.

        Compared by value, not by event: a change made just before the save
        reports itself after the error is shown.
        """
        if self.value != getattr(self, "_refused", _NOTHING_REFUSED):
            self.clear_error()

    @property
    def value(self) -> object:
        """What the control holds now: an input's or a select's value, a text
        area's text, a patient picker's choice."""
        for name in ("value", "text", "chosen"):
            if hasattr(self.control, name):
                return getattr(self.control, name)
        return None

    def set_hint(self, text: str) -> None:
        hint = self.query_one(".form-field--hint", Static)
        hint.update(text)
        hint.display = bool(text)

    @property
    def error(self) -> str:
        if not self.has_class("-has-error"):
            return ""
        return str(self.query_one(".form-field--error", Static).content)
