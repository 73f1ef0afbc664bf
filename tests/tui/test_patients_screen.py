"""The screens stay quick as staff type and move through the lists: phone
digits find patients, the history waits for the cursor, a re-read that
changes nothing redraws nothing, and a poll reads the store once."""

from textual.widgets import DataTable

import tui.screens.patients as patients_screen
from tests.tui.conftest import select_row, settle
from tui.screens.today import TodayScreen
from tui.widgets.paged_table import FIRST_ROWS, PagedTable


async def open_patients(pilot):  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    return pilot.app.screen


def history_reads(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """The patients whose consent history the screen reads, in order."""
    reads: list[int] = []
    real = patients_screen.consent_history

    def counted(practice, patient_id):  # type: ignore[no-untyped-def]
        reads.append(patient_id)
        return real(practice, patient_id)

    monkeypatch.setattr(patients_screen, "consent_history", counted)
    return reads


async def test_the_last_digits_of_a_number_find_the_patient(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_patients(pilot)

        await pilot.press(*"555-0134")
        await pilot.pause(0.3)
        await settle(pilot)

        table = screen.query_one(PagedTable)
        assert [r.key.value for r in table.ordered_rows] == [str(seeded.maria)]
        summary = str(screen.query_one("#consent-summary").content)
        assert "Maria Lopez" in summary


async def test_the_history_is_read_once_the_cursor_rests(make_app, seeded, monkeypatch):
    reads = history_reads(monkeypatch)
    # Longer than a busy machine may stall between two key presses, so only
    # a real rest counts as one.
    monkeypatch.setattr(patients_screen, "HISTORY_DELAY", 1.0)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_patients(pilot)
        # Let the first row's own history read finish before counting.
        await pilot.pause(0.3)
        await settle(pilot)
        assert not screen.history_pending
        reads.clear()

        # Down through three rows without stopping: only the last is read.
        screen.query_one(PagedTable).focus()
        await pilot.press("down", "down", "down")
        assert screen.history_pending
        await settle(pilot)

        assert reads == [int(screen.query_one(PagedTable).selected_key)]
        assert not screen.history_pending


async def test_the_summary_follows_the_cursor_before_the_history(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_patients(pilot)
        history = screen.query_one("#consent-history")
        assert history.row_count == 2  # Tom Baker: granted, then STOP

        select_row(screen, seeded.aisha)
        await pilot.pause()

        # At once, from the page: who it is and their consent; Tom's rows go.
        summary = str(screen.query_one("#consent-summary").content)
        assert "Aisha Khan" in summary
        assert "Never asked" in summary
        assert history.row_count == 0


async def test_a_re_read_that_finds_nothing_new_redraws_nothing(
    make_app, seeded, monkeypatch
):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_patients(pilot)
        cleared: list[str] = []
        real_clear = DataTable.clear

        def counted_clear(table, *args, **kwargs):  # type: ignore[no-untyped-def]
            cleared.append(table.id)
            return real_clear(table, *args, **kwargs)

        # Both tables: the list and the highlighted patient's history.
        monkeypatch.setattr(DataTable, "clear", counted_clear)
        screen.reload()
        await settle(pilot)

        assert cleared == []
        assert screen.query_one("#consent-history").row_count == 2


async def test_a_screen_polls_the_store_once_a_poll(make_app, seeded, monkeypatch):
    # A subclass calling the base on_mount as well set a second poll timer.
    reads: list[str] = []
    real = TodayScreen.read_page

    def counted(screen):  # type: ignore[no-untyped-def]
        reads.append(type(screen).__name__)
        return real(screen)

    monkeypatch.setattr(TodayScreen, "read_page", counted)
    app = make_app(poll_seconds=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        reads.clear()
        await pilot.pause(0.5)
        await settle(pilot)

    assert 1 <= len(reads) <= 3, reads


async def test_a_long_page_shows_its_first_rows_then_the_rest(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        blank = [""] * (len(table.columns) - 1)
        rows = [(str(n), [f"row {n}", *blank]) for n in range(FIRST_ROWS * 2)]

        table.show_rows(rows, keep_cursor=False)
        assert table.row_count == FIRST_ROWS
        await settle(pilot)
        assert table.row_count == FIRST_ROWS * 2

        # Rows replaced before the rest arrived do not get the old rest.
        table.show_rows(rows[::-1])
        table.show_rows(rows[:3])
        await settle(pilot)
        assert [r.key.value for r in table.ordered_rows] == ["0", "1", "2"]
