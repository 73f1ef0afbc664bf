"""The queue screen: cancel, retry and compose, checked in the database."""

from datetime import timedelta

from store.deliveries import record_sent
from store.lifecycle import claim_message
from store.models import ConsentRecord, MessageStatus, ScheduledMessage
from tests.tui.conftest import select_row, settle
from tests.tui.seed import NOW, local
from tui.screens.compose import ComposeModal, describe_cost
from tui.screens.dialogs import ConfirmModal
from tui.screens.message_detail import MessageDetailModal
from tui.widgets.form_field import FormField
from tui.widgets.paged_table import PagedTable


async def open_queue(pilot):  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("f4")
    await settle(pilot)
    return pilot.app.screen


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*["space" if ch == " " else ch for ch in text])


async def test_cancel_asks_then_cancels_the_row(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        select_row(screen, seeded.pending_message)

        await pilot.press("c")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)

    row = ScheduledMessage.get_by_id(seeded.pending_message)
    assert row.status == MessageStatus.CANCELLED
    assert row.last_error_code == "staff"


async def test_saying_no_keeps_the_message(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        select_row(screen, seeded.pending_message)

        await pilot.press("c", "escape")
        await settle(pilot)
        assert app.screen is screen

    assert ScheduledMessage.get_by_id(seeded.pending_message).status == "pending"


async def test_retry_puts_a_failed_message_back_in_the_queue(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        select_row(screen, seeded.failed_message)

        await pilot.press("r")
        await settle(pilot)

        row = ScheduledMessage.get_by_id(seeded.failed_message)
        assert row.status == MessageStatus.PENDING
        assert row.due_at == NOW
        cells = screen.query_one(PagedTable).get_row(str(seeded.failed_message))
        assert "pending" in str(cells[3])


async def test_retry_refuses_a_sent_message_without_writing(make_app, seeded):
    sent = ScheduledMessage.get(ScheduledMessage.status == MessageStatus.SENT)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        select_row(screen, sent.id)
        await pilot.press("r")
        await settle(pilot)

    assert ScheduledMessage.get_by_id(sent.id).status == MessageStatus.SENT


async def test_enter_shows_the_message_in_full(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        select_row(screen, seeded.failed_message)

        await pilot.press("enter")
        await settle(pilot)

        assert isinstance(app.screen, MessageDetailModal)
        facts = str(app.screen.query_one("#message-facts").content)
        assert "handset is unreachable" in facts
        assert "Attempts:    1" in facts
        await pilot.press("escape")
        assert app.screen is screen


async def test_compose_shows_each_error_beside_its_field_and_keeps_the_text(
    make_app, seeded
):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        modal = app.screen
        assert isinstance(modal, ComposeModal)

        # Pick a patient who never agreed to texts.
        await type_text(pilot, "aisha")
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")

        # An empty body is refused first, beside the body.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "empty" in modal.query_one("#field-body", FormField).error

        modal.query_one("#body").focus()
        await type_text(pilot, "your results are in")
        time_input = modal.query_one("#field-at Input")
        time_input.value = "today 08:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "past" in modal.query_one("#field-at", FormField).error
        assert modal.query_one("#body").text == "your results are in"

        time_input.value = "tomorrow 10:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "agreed to texts" in modal.query_one("#field-patient", FormField).error
        assert not modal.query_one("#field-at", FormField).error
        assert (
            ScheduledMessage.select()
            .where(ScheduledMessage.body == "your results are in")
            .count()
            == 0
        )

        # Choose Maria instead: the text goes into the queue.
        picker = modal.query_one("#picker-query")
        picker.focus()
        picker.value = ""
        await type_text(pilot, "lopez")
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ComposeModal)

    row = ScheduledMessage.get(ScheduledMessage.body == "your results are in")
    assert row.status == MessageStatus.PENDING
    assert row.patient_id == seeded.maria
    assert row.scheduled_for == local(10, 10)
    assert row.created_by == "Sam"


def test_the_cost_line_names_what_forced_ucs2():
    assert describe_cost("See you at 9").startswith("GSM-7 · 1 segment · 148 left")

    cost = describe_cost("See you at 9, we’re ready")
    assert cost.startswith("UCS-2 · 1 segment")
    assert "’ (right single quotation mark)" in cost


async def test_the_queue_shows_a_send_without_a_key_press(make_app, seeded):
    app = make_app(poll_seconds=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        table = screen.query_one(PagedTable)
        assert "pending" in str(table.get_row(str(seeded.pending_message))[3])

        # The daemon sends it, in another connection, while the screen is open.
        claimed = claim_message(seeded.pending_message, now=local(10, 10))
        record_sent(
            claimed,
            body="See you tomorrow",
            provider_sid="SM1",
            segments=1,
            encoding="GSM-7",
            gateway="outbox",
            consent=ConsentRecord.get(ConsentRecord.patient == seeded.eve),
            now=local(10, 10) + timedelta(seconds=1),
        )
        await pilot.pause(0.5)
        await settle(pilot)

        assert "sent" in str(table.get_row(str(seeded.pending_message))[3])


async def test_filtering_by_status_and_day(make_app, seeded):
    from textual.widgets import Select

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_queue(pilot)
        screen.query_one("#filter-status", Select).value = "failed"
        await settle(pilot)
        keys = {r.key.value for r in screen.query_one(PagedTable).ordered_rows}
        assert str(seeded.failed_message) in keys
        assert str(seeded.pending_message) not in keys

        screen.query_one("#filter-status", Select).value = Select.NULL
        screen.query_one("#filter-day").value = "tomorrow"
        await settle(pilot)
        rows = screen.query_one(PagedTable).ordered_rows
        assert str(seeded.pending_message) in {r.key.value for r in rows}
        assert len(rows) == 2  # the typed text and Maria's 2 h reminder
