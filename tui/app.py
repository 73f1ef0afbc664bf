"""The front desk's terminal app: four screens over one practice's store."""

import gc
import getpass
import importlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from daemon.context import Desk
from tui.screens.today import TodayScreen

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

SCREENS_BY_MODE = {
    "today": ("Today", "Today's appointments, the queue and the daemon"),
    "appointments": ("Appointments", "Appointments day by day"),
    "patients": ("Patients", "Find patients and record their SMS consent"),
    "messages": ("Queue", "The outgoing messages: cancel, retry, compose"),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _on_first_use(module: str, name: str) -> Callable[[], Screen]:
    """A screen whose module is imported when its mode is first opened: the
    app opens on Today, and importing the others first would delay it."""

    def make() -> Screen:
        screen_class = getattr(importlib.import_module(module), name)
        return screen_class()

    return make


class FrontdeskApp(App[None]):
    """Patients, consent, appointments and the message queue, from the keyboard.

    ``clock`` gives the current UTC instant; tests and snapshots pass a fixed
    one. ``poll_seconds`` is how often the screen in view re-reads the store
    (None turns polling off).
    """

    CSS_PATH = "styles/app.tcss"
    TITLE = "frontdesk"
    MODES = {
        "today": TodayScreen,
        "appointments": _on_first_use("tui.screens.appointments", "AppointmentsScreen"),
        "patients": _on_first_use("tui.screens.patients", "PatientsScreen"),
        "messages": _on_first_use("tui.screens.messages", "MessagesScreen"),
    }
    DEFAULT_MODE = "today"
    # Screens lay out side panels beside the list when wide, below it when not.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    # The footer shows F1 as "f1–f4 Screens" (DeskFooter) and leaves F5 to
    # the help screen and the palette: at 80 columns it needs the room for
    # the screen's own keys.
    BINDINGS = [
        Binding("f1", "show_screen('today')", "Today", id="show-today"),
        Binding(
            "f2",
            "show_screen('appointments')",
            "Appts",
            id="show-appointments",
            show=False,
        ),
        Binding(
            "f3", "show_screen('patients')", "Patients", id="show-patients", show=False
        ),
        Binding(
            "f4", "show_screen('messages')", "Queue", id="show-messages", show=False
        ),
        Binding("1", "show_screen('today')", "Today", show=False),
        Binding("2", "show_screen('appointments')", "Appts", show=False),
        Binding("3", "show_screen('patients')", "Patients", show=False),
        Binding("4", "show_screen('messages')", "Queue", show=False),
        Binding(
            "f5",
            "change_desk_user",
            "Who's at desk",
            id="change-desk-user",
            show=False,
        ),
        Binding("question_mark", "show_help", "Keys", id="show-help"),
    ]

    actor: reactive[str] = reactive("")

    def __init__(
        self,
        desk: Desk,
        *,
        clock: Clock | None = None,
        actor: str | None = None,
        poll_seconds: float | None = 2.0,
        connect_queue: bool = False,
    ) -> None:
        super().__init__()
        self.desk = desk
        self._connect_queue = connect_queue
        self.clock = clock or utc_now
        self.poll_seconds = poll_seconds
        self.set_reactive(FrontdeskApp.actor, actor or _login_name())

    @property
    def log_path(self) -> Path:
        return self.desk.home.state_dir / "tui.log"

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return self.clock()

    def today(self) -> date:
        """Today in the practice's time zone."""
        return self.now().astimezone(self.desk.practice.zone).date()

    def on_mount(self) -> None:
        self.title = f"frontdesk · {self.desk.practice.name}"
        self._show_actor()
        if self._connect_queue:
            # Huey is not needed for the first screen: connect once it shows,
            # so start-up does not wait for the queue file.
            self.set_timer(0.3, self._start_queue_worker)

    def _start_queue_worker(self) -> None:
        self.run_worker(
            self._join_task_queue, thread=True, exit_on_error=False, group="queue"
        )

    def _join_task_queue(self) -> None:
        from daemon.queue import connect_queue

        try:
            connect_queue(self.desk.home)
        except Exception:
            # Without the queue the daemon's minute sweep still finds every
            # message; only the to-the-second wake-up is lost.
            log.exception("Could not connect to the task queue; relying on the sweep")

    def watch_actor(self) -> None:
        self._show_actor()

    def _show_actor(self) -> None:
        self.sub_title = f"at the desk: {self.actor}"

    def action_show_screen(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_change_desk_user(self) -> None:
        from tui.screens.dialogs import DeskUserModal

        def chosen(name: str | None) -> None:
            if name:
                self.actor = name
                self.notify(f"Changes are now recorded as made by {name}.")

        self.push_screen(DeskUserModal(self.actor), chosen)

    def action_show_help(self) -> None:
        from tui.screens.dialogs import HelpModal

        if not isinstance(self.screen, HelpModal):
            self.push_screen(HelpModal(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)

        for mode, (title, help_text) in SCREENS_BY_MODE.items():
            yield SystemCommand(
                f"Show {title}", help_text, lambda m=mode: self.switch_mode(m)
            )
        yield SystemCommand(
            "Change who is at the desk",
            "The name recorded with every change",
            self.action_change_desk_user,
        )
        yield SystemCommand(
            "Show keys", "Every key of this screen", self.action_show_help
        )

        # The actions of the screen in view, so the palette reaches them too.
        name = getattr(screen, "SCREEN_NAME", "Screen")
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(
                    f"{name}: {binding.description}",
                    binding.tooltip or f"Key: {self.get_key_display(binding)}",
                    lambda a=binding.action, s=screen: self.call_next(
                        self.run_action, a, s
                    ),
                )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        # No login name in this environment (no USER, no passwd entry).
        return "front desk"


def run_app(desk: Desk) -> None:
    """Run the TUI for an opened desk until the person quits.

    Logs go to a file in the home's state folder: the terminal belongs to the
    app. Scheduling from the TUI wakes the daemon through the task queue.
    """
    desk.home.ensure()
    handler = logging.FileHandler(desk.home.state_dir / "tui.log", encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    # What is loaded by now (modules, classes, settings) lives as long as the
    # app. Frozen, the collector stops walking it on every full collection:
    # at start-up one such pass paused the first paint by about 12 ms.
    gc.freeze()

    try:
        FrontdeskApp(desk, connect_queue=True).run()
    finally:
        root.removeHandler(handler)
        handler.close()
