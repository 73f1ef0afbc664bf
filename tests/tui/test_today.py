"""The Today screen: the queue's trouble and a silent daemon stand out."""

from datetime import timedelta

from store.health import record_heartbeat
from tests.tui.conftest import settle
from tests.tui.seed import NOW
from tui.widgets.outcome_chart import OutcomeChart


async def test_a_daemon_silent_for_minutes_is_a_warning(make_app, desk, seeded):
    record_heartbeat(
        desk.practice,
        version="0.1.0",
        gateway="twilio",
        error="Twilio refused the credentials (20003).",
        now=NOW - timedelta(minutes=12),
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#health-panel")
        text = str(panel.content)

        assert panel.has_class("-warning")
        assert "Last sweep 12 min ago" in text
        assert "20003" in text


async def test_a_recent_sweep_is_calm_and_failures_are_flagged(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen

        assert not screen.query_one("#health-panel").has_class("-warning")
        assert "Last sweep 40 s ago" in str(screen.query_one("#health-panel").content)
        assert screen.query_one("#queue-panel").has_class("-error")
        outcomes = screen.query_one(OutcomeChart).outcomes
        assert len(outcomes) == 14
        assert outcomes[-1].day.isoformat() == "2026-12-09"
        assert sum(o.failed for o in outcomes) == 3


async def test_the_side_panels_narrow_with_the_terminal(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        side = screen.query_one("#today-side")

        assert screen.has_class("-wide") and not screen.has_class("-narrow")
        assert side.region.width == 38

        await pilot.resize_terminal(80, 40)
        await settle(pilot)

        assert screen.has_class("-narrow") and not screen.has_class("-wide")
        assert side.region.width == 31


async def test_a_screen_opened_on_a_narrow_terminal_starts_narrow(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        assert app.screen.has_class("-narrow")
        assert app.screen.query_one("#today-side").region.width == 31
