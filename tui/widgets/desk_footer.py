"""The footer of the desk's screens: their keys, fitted to 80 columns."""

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen

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
        self._shown: tuple[object, ...] | None = None

    def bindings_changed(self, screen: "Screen") -> None:
        # Textual signals on every move of the focus, and the footer would
        # rebuild its keys each time; at start that is half a dozen times.
        shown = tuple(
            (key, active.binding.description, active.enabled)
            for key, active in screen.active_bindings.items()
            if active.binding.show
        )
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        # Remembered only when Textual did rebuild (it waits while the
        # terminal is out of focus).
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown

    def on_mount(self) -> None:
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
