"""The four main screens as pictures, at the smallest and a common size."""

import pytest

from tests.tui.conftest import settle

SIZES = [(80, 24), (120, 40)]
SCREENS = ["f1", "f2", "f3", "f4"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "key", SCREENS, ids=["today", "appointments", "patients", "queue"]
)
def test_main_screens(snap_compare, make_app, key, size):
    async def open_screen(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_screen)
