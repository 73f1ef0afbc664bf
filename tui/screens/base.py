"""What the four main screens share: a page read off the UI thread, kept
current while the daemon works, and store actions run the same way."""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import get_current_worker

from store.errors import StoreError
from tui.connection import store_connection
from tui.widgets.desk_footer import DeskFooter

if TYPE_CHECKING:
    from tui.app import FrontdeskApp

log = logging.getLogger(__name__)

PAGE_SIZE = 200


class DeskScreen(Screen[None]):
    """A main screen showing one page of the store, re-read every few seconds.

    Subclasses say what to read (``read_page``, on a worker thread) and how
    to show it (``show_page``, on the UI thread). The page is re-read when the
    screen comes back into view, after every action, and on the app's poll,
    so a text the daemon sends shows as sent without a key press.
    """

    app: "FrontdeskApp"

    def compose(self) -> ComposeResult:
        self._take_breakpoint_class()
        yield Header()
        yield from self.compose_body()
        yield DeskFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def _take_breakpoint_class(self) -> None:
        # Textual sets the width's class (-wide, -narrow) on the first resize,
        # after the screen's widgets were styled without it, and styles them
        # all again: about 30 ms of a 0.4 s start. Taking it now, from the
        # app's size, makes that resize a no-op.
        width = self.app.size.width
        for minimum, name in sorted(
            self.app.HORIZONTAL_BREAKPOINTS or [], reverse=True
        ):
            if width >= minimum:
                self.add_class(name, update=False)
                return

    def on_mount(self) -> None:
        # Textual calls this after the subclass's own on_mount, which must
        # not call it again: that set two poll timers, two reads a poll.
        if self.app.poll_seconds:
            self.set_interval(self.app.poll_seconds, self._poll)

    def on_screen_resume(self) -> None:
        self.reload()

    def _poll(self) -> None:
        # Only the screen in view polls; one under a dialog waits, and is
        # re-read when the dialog closes.
        if self.is_active:
            self.reload()

    def reload(self) -> None:
        """Read the page again, on a worker thread."""
        self._load_page()

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _load_page(self) -> None:
        worker = get_current_worker()
        try:
            with store_connection():
                page = self.read_page()
        except Exception:
            log.exception("Reading %s failed", type(self).__name__)
            if not worker.is_cancelled:
                self.app.call_from_thread(self._page_failed)
            return

        if not worker.is_cancelled:
            self.app.call_from_thread(self._page_read, page)

    def _page_read(self, page: Any) -> None:
        self._failing = False
        self.show_page(page)

    def _page_failed(self) -> None:
        # Said once, not every poll, until a read works again.
        if getattr(self, "_failing", False):
            return
        self._failing = True
        self.notify(
            "Could not read the database; the screen may be out of date. It "
            f"will keep trying. Details are in {self.app.log_path}.",
            title="Database",
            severity="error",
            timeout=10,
        )

    def read_page(self) -> Any:
        """Read what the screen shows. Runs on a worker thread."""
        return None

    def show_page(self, page: Any) -> None:
        """Show what ``read_page`` returned. Runs on the UI thread."""

    def run_store_action(self, job: Callable[[], str], *, what: str) -> None:
        """Run a store change on a worker thread, then say how it went and
        re-read the page. ``job`` returns the message for staff."""
        self._store_action(job, what)

    @work(thread=True, group="store-action", exit_on_error=False)
    def _store_action(self, job: Callable[[], str], what: str) -> None:
        try:
            with store_connection():
                done = job()
        except StoreError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=f"{what}: not done", severity="error"
            )
            return
        except Exception:
            log.exception("%s failed", what)
            self.app.call_from_thread(
                self.notify,
                f"Something went wrong and it may not have been saved. Check the "
                f"screen, try again, and if it fails again give IT the log: "
                f"{self.app.log_path}.",
                title=f"{what}: failed",
                severity="error",
                timeout=15,
            )
            return

        self.app.call_from_thread(self.notify, done, title=what)
        self.app.call_from_thread(self.reload)
