"""A table that shows one page of a long list and asks for the next."""

from collections.abc import Sequence
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.color import Color, ColorParseError
from textual.message import Message
from textual.widgets import DataTable

Row = tuple[str, Sequence[Any]]
"""A row key and its cells."""

# Rows added before the first paint after a change: more than a tall
# terminal shows below the cursor.
FIRST_ROWS = 60


class PagedTable(DataTable[Any]):
    """A row-cursor DataTable holding one page of a longer list.

    PageDown on the last row asks for the next page, and PageUp on the first
    row for the previous one; anywhere else they scroll as usual. Reloading
    the same rows changes nothing on screen, and the cursor stays on the row
    it was on, so a table refreshed every few seconds does not flicker.
    """

    DEFAULT_CSS = """
    PagedTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("pagedown", "next_page", "Next page", show=False),
        Binding("pageup", "previous_page", "Previous page", show=False),
    ]

    class PageRequested(Message):
        """The person asked for the next (+1) or previous (-1) page."""

        def __init__(self, table: "PagedTable", step: int) -> None:
            super().__init__()
            self.table = table
            self.step = step

        @property
        def control(self) -> "PagedTable":
            return self.table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.has_more = False
        self.has_previous = False
        self._shown: list[Row] = []
        self._generation = 0

    def action_next_page(self) -> None:
        if self.has_more and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageRequested(self, +1))
        else:
            self.action_page_down()

    def action_previous_page(self) -> None:
        if self.has_previous and self.cursor_row <= 0:
            self.post_message(self.PageRequested(self, -1))
        else:
            self.action_page_up()

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, or None for an empty table."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show_rows(self, rows: list[Row], *, keep_cursor: bool = True) -> bool:
        """Replace the rows; returns False when they were already shown."""
        comparable = [(key, [_plain(c) for c in cells]) for key, cells in rows]
        if comparable == self._shown:
            return False

        selected = self.selected_key if keep_cursor else None
        row = self.cursor_row
        self._shown = comparable
        self._generation += 1
        self.clear()

        keys = [key for key, _ in rows]
        if selected in keys:
            target = keys.index(selected)
        else:
            target = min(row, len(rows) - 1) if keep_cursor and rows else 0

        # The rows around the cursor now, the rest once they are on screen:
        # adding and measuring rows no one can see yet delays the first paint.
        now = target + FIRST_ROWS
        self._add_rows(rows[:now], self._generation)
        if rows:
            self.move_cursor(row=target, animate=False)
        if rows[now:]:
            self.call_after_refresh(self._add_rows, rows[now:], self._generation)
        return True

    def _add_rows(self, rows: list[Row], generation: int) -> None:
        if generation != self._generation:
            return  # the table was given other rows in the meantime
        for key, cells in rows:
            self.add_row(*[_cell(c) for c in cells], key=key)

    def tone(self, text: str, variable: str) -> Text:
        """``text`` in a theme colour ("error", "warning", "success"...).

        The theme's text variant ($text-error) is preferred where it has one:
        it is the shade made to be read on the theme's background.
        """
        variables = self.app.theme_variables
        value = variables.get(f"text-{variable}") or variables.get(variable) or ""
        try:
            colour = Color.parse(value)
        except ColorParseError:
            # "auto 60%" and the like: the text colour, faded into the table.
            _, background = self.background_colors
            colour = background + self.styles.color.multiply_alpha(0.6)
        return Text(text, style=Style(color=colour.rich_color), end="")


def _cell(value: Any) -> Any:
    # Plain strings go in as Text so a name holding "[" is not read as markup.
    if isinstance(value, str):
        return Text(value, end="")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Text):
        return (value.plain, str(value.style))
    return value
