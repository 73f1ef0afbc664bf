"""TUI fixtures: a desk on a real SQLite file, seeded, with a fixed clock."""

from contextlib import suppress
from pathlib import Path

import pytest
from textual.worker import WorkerCancelled

from daemon.context import Desk
from store.home import resolve_home
from store.settings import Settings
from tests.tui.seed import NOW, Seeded, seed_practice
from tui.app import FrontdeskApp
from tui.screens import patients as patients_screen


@pytest.fixture
def settings() -> Settings:
    return Settings.default()


@pytest.fixture
def desk(  # type: ignore[no-untyped-def]
    home_dir: Path, practice, settings: Settings
) -> Desk:
    return Desk(home=resolve_home(home_dir), settings=settings, practice=practice)


@pytest.fixture
def seeded(desk: Desk) -> Seeded:
    return seed_practice(desk.practice, desk.settings, NOW)


@pytest.fixture
def make_app(desk: Desk, seeded: Seeded):  # type: ignore[no-untyped-def]
    """Build the app on the seeded desk; the clock stands still at NOW."""

    def make(**overrides) -> FrontdeskApp:  # type: ignore[no-untyped-def]
        options = {"clock": lambda: NOW, "actor": "Sam", "poll_seconds": None}
        options.update(overrides)
        return FrontdeskApp(desk, **options)

    return make


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until every worker is done and the screen has caught up; a
    finished worker may start another (a page read after a save)."""
    for _ in range(3):
        # A cancelled worker was replaced by an exclusive re-read.
        with suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        # The Patients screen reads a consent history once the cursor rests.
        if getattr(pilot.app.screen, "history_pending", False):
            await pilot.pause(patients_screen.HISTORY_DELAY + 0.05)


def select_row(screen, key: int) -> None:  # type: ignore[no-untyped-def]
    """Put the cursor of the screen's list on the row with this id."""
    from tui.widgets.paged_table import PagedTable

    table = screen.query_one(PagedTable)
    keys = [row.key.value for row in table.ordered_rows]
    table.move_cursor(row=keys.index(str(key)))
    table.focus()
