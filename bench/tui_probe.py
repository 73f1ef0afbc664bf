"""Started by the TUI bench: launch an app headless and print the moment its
first screen is ready, as seconds since the epoch.

``python -m bench.tui_probe frontdesk HOME`` opens the desk as `frontdesk
tui` does and is ready when the Today screen has shown its first page;
``python -m bench.tui_probe minimal`` is an App with one Label, ready after
its first refresh.
"""

import sys
import time

from textual.app import App, ComposeResult
from textual.widgets import Label

SIZE = (120, 40)


def report(app: App) -> None:  # type: ignore[type-arg]
    print(f"{time.time():.6f}", flush=True)
    app.exit()


class MinimalApp(App[None]):
    """The reference: the least a Textual app does before it is ready."""

    def compose(self) -> ComposeResult:
        yield Label("Hello")

    def on_mount(self) -> None:
        self.call_after_refresh(report, self)


def run_frontdesk(home: str) -> None:
    from daemon.context import open_desk
    from tui.app import FrontdeskApp, run_app
    from tui.screens.today import TodayScreen

    show_page = TodayScreen.show_page
    shown = False

    def show_and_report(  # type: ignore[no-untyped-def]
        screen: TodayScreen, page
    ) -> None:
        nonlocal shown
        show_page(screen, page)
        if not shown:
            shown = True
            screen.app.call_after_refresh(report, screen.app)

    TodayScreen.show_page = show_and_report  # type: ignore[method-assign]
    run = FrontdeskApp.run

    def run_headless(self):  # type: ignore[no-untyped-def]
        return run(self, headless=True, size=SIZE)

    FrontdeskApp.run = run_headless  # type: ignore[method-assign]
    run_app(open_desk(home))


if __name__ == "__main__":
    if sys.argv[1] == "minimal":
        MinimalApp().run(headless=True, size=SIZE)
    else:
        run_frontdesk(sys.argv[2])
