"""A practice with many patients: search and paging still work."""

from store.models import Patient, phone_tail_key, search_key, utcnow
from tests.tui.conftest import settle
from tui.screens.patients import PAGE_SIZE
from tui.widgets.paged_table import PagedTable

PATIENTS = 20_000


def add_many_patients(practice) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    rows = []
    for n in range(PATIENTS):
        first, last = f"Sam{n % 97:02d}", f"Smith{n:05d}"
        number = f"+1212555{n % 10000:04d}"
        rows.append(
            {
                "practice": practice.id,
                "first_name": first,
                "last_name": last,
                "first_key": search_key(first),
                "last_key": search_key(last),
                "phone": number,
                "phone_tail": phone_tail_key(number),
                "created_at": now,
                "updated_at": now,
            }
        )
    Patient.insert_many(rows).execute()


async def test_search_and_paging_over_twenty_thousand_patients(make_app, desk):
    add_many_patients(desk.practice)

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(PagedTable)
        assert table.row_count == PAGE_SIZE
        assert table.has_more
        assert "20,005 patients" in str(screen.query_one("#patients-heading").content)

        await pilot.press(*"smith1")
        await pilot.pause(0.3)
        await settle(pilot)
        first_page = [r.key.value for r in table.ordered_rows]
        assert len(first_page) == PAGE_SIZE

        # PageDown on the last row loads the next page.
        table.focus()
        table.move_cursor(row=table.row_count - 1)
        await pilot.press("pagedown")
        await settle(pilot)
        assert screen.page_offset == PAGE_SIZE
        second_page = [r.key.value for r in table.ordered_rows]
        assert len(second_page) == PAGE_SIZE
        assert not set(first_page) & set(second_page)
        heading = str(screen.query_one("#patients-heading").content)
        assert f"showing {PAGE_SIZE + 1}–{2 * PAGE_SIZE}" in heading
