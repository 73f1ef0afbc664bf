"""A labelled form field with its error shown right beneath it."""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


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
        if self.value != getattr(self, "_refused", None):
            self.clear_error()

    @property
    def value(self) -> str | None:
        """What the control holds now, if it is one that is typed in."""
        text = getattr(self.control, "value", None)
        if text is None:
            text = getattr(self.control, "text", None)
        return text if isinstance(text, str) else None

    def set_hint(self, text: str) -> None:
        hint = self.query_one(".form-field--hint", Static)
        hint.update(text)
        hint.display = bool(text)

    @property
    def error(self) -> str:
        if not self.has_class("-has-error"):
            return ""
        return str(self.query_one(".form-field--error", Static).content)
