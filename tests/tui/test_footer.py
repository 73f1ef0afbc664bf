"""The footer at 80 columns: each screen's keys, the screens and "? Keys" fit,
and F5 is left to the help screen."""

import pytest
from textual.widgets._footer import FooterKey

from tests.tui.conftest import settle
from tui.screens.dialogs import HelpModal
from tui.widgets.desk_footer import DeskFooter
from tui.widgets.paged_table import PagedTable

SCREEN_KEYS = {
    "f1": ["Refresh"],
    "f2": ["Day", "Book", "Edit", "Move", "Confirm", "Cancel appt"],
    "f3": ["Search", "Add", "Edit", "Grant SMS", "Revoke SMS", "Text"],
    "f4": ["New text", "Cancel", "Retry", "Filter"],
}


def footer_entries(screen) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Each footer entry's words (a key group's label included) and the
    column it ends at."""
    footer = screen.query_one(DeskFooter)
    entries = []
    for widget in footer.query("FooterKey, FooterLabel"):
        if isinstance(widget, FooterKey):
            text = widget.description or widget.key_display
        else:
            text = str(widget.content)
        entries.append((text, widget.region.right))
    return entries


@pytest.mark.parametrize("key", list(SCREEN_KEYS))
async def test_every_screens_keys_fit_in_80_columns(make_app, key):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        app.screen.query_one(PagedTable).focus()
        await settle(pilot)

        entries = footer_entries(app.screen)
        shown = [text for text, _ in entries]
        for wanted in [*SCREEN_KEYS[key], "Screens", "Keys"]:
            assert wanted in shown, shown
        assert all(0 < right <= 80 for _, right in entries), entries
        assert "Who's at desk" not in shown


async def test_the_palette_key_shows_when_there_is_room(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.screen.query(".-command-palette")

        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert not app.screen.query(".-command-palette")


async def test_the_help_still_lists_every_screen_key_and_f5(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)

        table = app.screen.query_one("DataTable")
        cells = [table.get_row_at(i) for i in range(table.row_count)]
        rows = {str(what): str(keys) for keys, what in cells}
        assert rows["Today"].startswith("f1")
        assert rows["Queue"].startswith("f4")
        assert rows["Who's at desk"] == "f5"
