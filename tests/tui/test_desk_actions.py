"""Patients, consent and appointments from the keyboard, checked in the
database."""

from datetime import UTC, datetime, timedelta

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Button, Input, Select

from store.errors import InvalidInput
from store.models import (
    Appointment,
    ConsentRecord,
    ConsentSource,
    MessageStatus,
    Patient,
    ScheduledMessage,
)
from tests.tui.conftest import select_row, settle
from tests.tui.seed import local
from tui.screens.appointment_forms import AppointmentModal, RescheduleModal
from tui.screens.dialogs import ConfirmModal, DeskUserModal, HelpModal
from tui.screens.patient_forms import ConsentModal, PatientModal
from tui.widgets.form_field import FormField
from tui.widgets.paged_table import PagedTable
from tui.widgets.patient_picker import PatientPicker


def reminders_of(appointment_id: int) -> dict[int, ScheduledMessage]:
    rows = ScheduledMessage.select().where(
        (ScheduledMessage.appointment == appointment_id)
        & (ScheduledMessage.status == MessageStatus.PENDING)
    )
    return {row.reminder_offset: row for row in rows}


async def open_screen(pilot, key: str):  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    return pilot.app.screen


async def test_granting_consent_records_it_and_creates_reminders(make_app, seeded):
    # Aisha's visit at 15:30 is confirmed but has no reminders: no consent.
    aisha_visit = Appointment.get(Appointment.patient == seeded.aisha)
    assert reminders_of(aisha_visit.id) == {}

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f3")
        select_row(screen, seeded.aisha)
        await pilot.press("g")
        assert isinstance(app.screen, ConsentModal)

        app.screen.query_one("#field-note Input").value = "said yes at check-in"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "Agreed to texts" in str(screen.query_one("#consent-summary").content)

    record = ConsentRecord.get(ConsentRecord.patient == seeded.aisha)
    assert record.granted
    assert record.source == "front_desk_verbal"
    assert record.recorded_by == "Sam"
    assert record.note == "said yes at check-in"
    # 24 h before is already past; the 2 h reminder is due at 13:30.
    assert list(reminders_of(aisha_visit.id)) == [2 * 3600]
    assert reminders_of(aisha_visit.id)[2 * 3600].due_at == local(9, 13, 30)


async def test_revoking_consent_cancels_pending_reminders(make_app, seeded):
    assert reminders_of(seeded.maria_tomorrow)

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f3")
        select_row(screen, seeded.maria)
        await pilot.press("v")
        assert isinstance(app.screen, ConsentModal)
        await pilot.press("ctrl+s")
        await settle(pilot)

    latest = (
        ConsentRecord.select()
        .where(ConsentRecord.patient == seeded.maria)
        .order_by(ConsentRecord.id.desc())
        .first()
    )
    assert not latest.granted
    assert latest.recorded_by == "Sam"
    assert reminders_of(seeded.maria_tomorrow) == {}
    assert reminders_of(seeded.maria_today) == {}


async def test_search_as_you_type_narrows_the_list(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f3")
        assert screen.query_one(PagedTable).row_count == 5

        await pilot.press(*"khan")
        await pilot.pause(0.3)
        await settle(pilot)

        table = screen.query_one(PagedTable)
        assert [r.key.value for r in table.ordered_rows] == [str(seeded.aisha)]


async def test_a_bad_phone_number_is_shown_beside_the_field(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f3")
        screen.query_one(PagedTable).focus()
        await pilot.press("a")
        modal = app.screen
        assert isinstance(modal, PatientModal)

        modal.query_one("#field-first_name Input").value = "Nora"
        modal.query_one("#field-last_name Input").value = "Quinn"
        modal.query_one("#field-phone Input").value = "12345"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "not a" in modal.query_one("#field-phone", FormField).error
        assert Patient.select().where(Patient.first_name == "Nora").count() == 0

        modal.query_one("#field-phone Input").value = "(212) 555-0199"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen

    assert Patient.get(Patient.first_name == "Nora").phone == "+12125550199"


async def test_rescheduling_moves_the_reminders(make_app, seeded):
    before = reminders_of(seeded.maria_tomorrow)
    assert before[24 * 3600].due_at == local(9, 9, 30)

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f2")
        await pilot.press("right_square_bracket")
        await settle(pilot)
        select_row(screen, seeded.maria_tomorrow)

        await pilot.press("r")
        assert isinstance(app.screen, RescheduleModal)
        await pilot.press(*"2026-12-11", "space", *"10:00")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.day.isoformat() == "2026-12-11"

        cells = screen.query_one(PagedTable).get_row(str(seeded.maria_tomorrow))
        assert "24 h pending Thu 10 Dec 10:00" in str(cells[4])

    moved = reminders_of(seeded.maria_tomorrow)
    assert Appointment.get_by_id(seeded.maria_tomorrow).starts_at == local(11, 10)
    assert moved[24 * 3600].id == before[24 * 3600].id
    assert moved[24 * 3600].due_at == local(10, 10)
    assert moved[2 * 3600].due_at == local(11, 8)


async def test_a_past_start_is_refused_beside_the_field(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f2")
        select_row(screen, seeded.maria_today)
        await pilot.press("r")
        app.screen.query_one("#field-starts_at Input").value = "today 07:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        field = app.screen.query_one("#field-starts_at", FormField)
        assert "past" in field.error

        # Once the time is changed the old error no longer applies.
        app.screen.query_one("#field-starts_at Input").value = "today 17:00"
        await pilot.pause()
        assert field.error == ""

    assert Appointment.get_by_id(seeded.maria_today).starts_at == local(9, 14)


async def test_down_from_the_patient_search_lands_on_the_first_match(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(pilot, "f2")
        await pilot.press("a")
        modal = app.screen
        assert isinstance(modal, AppointmentModal)
        await pilot.press(*"ma")  # Maria Lopez and Eve Martin
        await pilot.pause(0.3)
        await settle(pilot)

        await pilot.press("down", "enter")

        picker = modal.query_one(PatientPicker)
        assert picker.chosen is not None
        assert picker.chosen.id == seeded.maria


async def test_choosing_the_missing_patient_clears_its_error(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(pilot, "f2")
        await pilot.press("a")
        modal = app.screen
        modal.query_one("#field-starts_at Input").value = "today 17:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        field = modal.query_one("#field-patient", FormField)
        assert "Choose the patient" in field.error

        modal.query_one("#picker-query", Input).focus()
        await pilot.press(*"maria")
        await pilot.pause(0.3)
        await settle(pilot)
        assert field.error  # typing alone has not chosen anyone
        await pilot.press("down", "enter")
        await pilot.pause()

        assert field.error == ""


async def test_a_refused_choice_loses_its_error_once_changed(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f3")
        select_row(screen, seeded.aisha)
        await pilot.press("g")
        modal = app.screen
        source = modal.query_one("#field-source Select", Select)
        source.value = ConsentSource.STOP_REPLY.value
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        field = modal.query_one("#field-source", FormField)
        assert field.error

        source.value = ConsentSource.FRONT_DESK_VERBAL.value
        await pilot.pause()

        assert field.error == ""


async def test_booking_confirming_and_cancelling(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f2")
        await pilot.press("a")
        modal = app.screen
        assert isinstance(modal, AppointmentModal)
        await pilot.press(*"chen")
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")
        modal.query_one("#field-starts_at Input").value = "today 17:00"
        modal.query_one("#field-provider Input").value = "Dr Osei"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen

        booked = Appointment.get(
            (Appointment.patient == seeded.james) & (Appointment.provider == "Dr Osei")
        )
        assert booked.status == "booked"
        assert booked.starts_at == local(9, 17)

        select_row(screen, booked.id)
        await pilot.press("c")
        await settle(pilot)
        assert Appointment.get_by_id(booked.id).status == "confirmed"
        assert list(reminders_of(booked.id)) == [2 * 3600]

        await pilot.press("x")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)

    assert Appointment.get_by_id(booked.id).status == "cancelled"
    assert reminders_of(booked.id) == {}


async def test_days_move_back_and_forth_and_go_to_a_date(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f2")
        assert screen.query_one(PagedTable).row_count == 4

        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.query_one(PagedTable).row_count == 1

        await pilot.press("g")
        await pilot.press(*"nonsense", "enter")
        await settle(pilot)
        assert "not a day" in app.screen.query_one(FormField).error

        app.screen.query_one("Input").value = "2026-12-09"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.day.isoformat() == "2026-12-09"
        assert screen.query_one(PagedTable).row_count == 4


@pytest.mark.parametrize(
    ("screen_key", "dialog_key"),
    [("f2", "a"), ("f2", "e"), ("f4", "n"), ("f3", "a"), ("f3", "e")],
    ids=["book", "edit-appointment", "compose", "add-patient", "edit-patient"],
)
async def test_forms_keep_their_buttons_in_view_on_a_24_line_terminal(
    make_app, seeded, screen_key, dialog_key
):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_screen(pilot, screen_key)
        # Off the Patients search box, where the key would be typed.
        screen.query_one(PagedTable).focus()
        await pilot.press(dialog_key)
        await settle(pilot)

        fields = app.screen.query_one(".form-fields", VerticalScroll)
        save = app.screen.query_one("#save", Button)
        assert fields.max_scroll_y == 0
        assert save.region.bottom <= app.size.height - 1

        # A long error at the foot: it is scrolled to, the buttons stay.
        app.screen.show_error(RuntimeError("Could not save this. " * 12))
        await settle(pilot)
        error = app.screen.query_one(".form-error")
        assert save.region.bottom <= app.size.height - 1
        assert fields.region.contains_region(error.region)


async def test_the_field_in_use_and_its_error_stay_in_view_as_the_form_shrinks(
    make_app, seeded
):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(pilot, "f2")
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        fields = form.query_one(".form-fields", VerticalScroll)
        status = form.query_one("#field-status Select", Select)
        status.focus()

        await pilot.resize_terminal(80, 20)
        await settle(pilot)
        assert fields.region.contains_region(status.region)

        form.query_one("#field-starts_at Input", Input).focus()
        await settle(pilot)
        form.show_error(InvalidInput("That time is in the past. " * 4, field="status"))
        await settle(pilot)
        error = form.query_one("#field-status .form-field--error")
        assert fields.region.contains_region(error.region)


async def test_the_person_at_the_desk_goes_on_the_audit_trail(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot, "f4")
        await pilot.press("f5")
        assert isinstance(app.screen, DeskUserModal)
        app.screen.query_one("Input").value = "Priya"
        await pilot.press("enter")
        assert app.actor == "Priya"

        select_row(screen, seeded.failed_message)
        await pilot.press("r")
        await settle(pilot)

    from store.models import AuditEvent

    event = AuditEvent.get(AuditEvent.action == "message.retried")
    assert event.actor == "Priya"


async def test_help_lists_the_screen_keys(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(pilot, "f2")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        rows = [
            str(app.screen.query_one("DataTable").get_row_at(i)[1])
            for i in range(app.screen.query_one("DataTable").row_count)
        ]
        assert {"Move", "Confirm", "Cancel appt", "Queue"} <= set(rows)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpModal)


async def test_the_palette_reaches_screens_and_actions(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(pilot, "f2")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Show Queue" in titles
        assert "Appointments: Move" in titles


def test_the_fixed_clock_is_a_wednesday_morning_in_new_york():
    assert local(9, 9) == datetime(2026, 12, 9, 14, tzinfo=UTC)
    assert local(9, 9) - local(8, 9) == timedelta(days=1)
