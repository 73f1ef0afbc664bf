"""The footer of the desk's screens: their keys, fitted to 80 columns."""

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# The palette key takes 11 columns; below this width the screen's own keys
# need them more, and the help screen (?) says how to open the palette.
PALETTE_MIN_WIDTH = 100


class DeskFooter(Footer):
    """A compact footer where F1 stands for the four screen keys.

    F1 is shown as "f1–f4 Screens": one entry instead of four keys and a
    label, so the screen's own keys and "? Keys" fit at 80 columns. The
    ctrl+p palette key is shown only when the terminal is wide enough.
    """

    DEFAULT_CSS = """
    DeskFooter.-compact FooterLabel {
        margin: 0 1 0 0;
    }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.show_command_palette = self.app.size.width >= PALETTE_MIN_WIDTH

    def on_resize(self) -> None:
        wide = self.app.size.width >= PALETTE_MIN_WIDTH
        if wide != self.show_command_palette:
            self.show_command_palette = wide
            self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.key == "f1":
                widget = FooterKey(
                    widget.key,
                    "f1–f4",
                    "Screens",
                    widget.action,
                    tooltip="F1 Today · F2 Appointments · F3 Patients · F4 Queue",
                ).data_bind(compact=Footer.compact)
            yield widget
