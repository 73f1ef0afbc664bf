"""Writers drill: the desk screens, the command line and the daemon at once.

Staff book and move appointments and queue texts in the TUI while a script
runs `frontdesk schedule` and `frontdesk consent`, and the daemon sends. No
one may see "database is locked", and no one's edit may be lost: each writer
keeps a ledger of what it wrote last, and the database must agree with every
ledger at the end.
"""

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.queue import connect_queue
from store.appointments import (
    appointments_between,
    book_appointment,
    reschedule_appointment,
    set_appointment_status,
)
from store.consent import current_consent, grant_consent, revoke_consent
from store.home import resolve_home
from store.messages import (
    cancel_message,
    count_by_status,
    list_messages,
    schedule_message,
)
from store.models import (
    Appointment,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    utcnow,
)
from store.patients import search_patients, update_patient
from store.reminders import reminder_start
from tests.drills.desk import Daemon, Desk, describe, make_desk, run_cli, sizes
from tui.connection import store_connection

LOCKED = "database is locked"


@dataclass(frozen=True)
class WritersSize:
    seconds: float
    seed: int


@dataclass
class Ledger:
    """What one writer wrote last to each record it owns, and what failed."""

    name: str
    last: dict[object, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    writes: int = 0


@dataclass
class Groups:
    """Each writer owns its own patients, so no two writers' edits may
    legitimately overwrite each other, and a lost one shows."""

    appointments: list[int]
    messages: list[int]
    edits: list[int]
    consent: list[int]
    cli_messages: list[int]
    cli_consent: list[int]


@pytest.mark.parametrize(
    "size",
    sizes(WritersSize(seconds=8, seed=3), WritersSize(seconds=60, seed=4)),
)
def test_desk_command_line_and_daemon_write_at_once(
    size: WritersSize, tmp_path: Path, fake_twilio, store_closed
) -> None:
    desk = make_desk(tmp_path / "home", fake_twilio, patients=30)
    ids = [p.id for p in desk.patients]
    groups = Groups(ids[0:6], ids[6:12], ids[12:16], ids[16:20], ids[20:26], ids[26:])
    booked = book_appointments(desk, groups.appointments)
    # The desk routes its changes to the daemon's queue, as the TUI does.
    connect_queue(resolve_home(desk.home))

    daemon = Daemon(desk.home)
    daemon.start()
    daemon.wait_ready()

    stop = threading.Event()
    writers: list[tuple[Ledger, Callable[..., None]]] = [
        (Ledger("tui appointments"), move_appointments),
        (Ledger("tui messages"), queue_and_cancel_texts),
        (Ledger("tui patients"), edit_patients),
        (Ledger("tui consent"), toggle_consent),
        (Ledger("tui reads"), read_pages),
        (Ledger("cli messages"), cli_schedule_and_cancel),
        (Ledger("cli consent"), cli_toggle_consent),
    ]
    threads = [
        threading.Thread(
            target=guarded,
            args=(job, ledger, desk, groups, booked, stop, size.seed + n),
            name=ledger.name,
        )
        for n, (ledger, job) in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(size.seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    ledgers = {ledger.name: ledger for ledger, _ in writers}
    due_now = [
        k for k, v in ledgers["tui messages"].last.items() if v == MessageStatus.SENT
    ]
    due_now += [
        k for k, v in ledgers["cli messages"].last.items() if v == MessageStatus.SENT
    ]
    try:
        settle(due_now, timeout=60)
    finally:
        code = daemon.stop()

    errors = [f"{name}: {e}" for name, ledger in ledgers.items() for e in ledger.errors]
    assert not errors, "\n".join(errors[:20])
    assert all(ledger.writes for ledger in ledgers.values()), {
        name: ledger.writes for name, ledger in ledgers.items()
    }
    logs = daemon.log_text() + read_if_exists(desk.home / "frontdesk.log")
    assert LOCKED not in logs
    assert "Traceback" not in daemon.log_text()
    assert code == 0

    check_appointments(ledgers["tui appointments"])
    check_messages(ledgers["tui messages"])
    check_messages(ledgers["cli messages"])
    check_names(ledgers["tui patients"])
    check_consent(ledgers["tui consent"])
    check_consent(ledgers["cli consent"])


def guarded(job, ledger: Ledger, *args) -> None:  # type: ignore[no-untyped-def]
    """Run a writer's loop; any exception (OperationalError included) is
    recorded, never lost in a thread."""
    try:
        job(ledger, *args)
    except Exception as exc:  # the drill reports it, whatever it is
        ledger.errors.append(f"{type(exc).__name__}: {exc}")


def book_appointments(desk: Desk, patients: list[int]) -> list[int]:
    booked = []
    for n, patient_id in enumerate(patients * 2):
        appointment = book_appointment(
            desk.practice,
            patient_id=patient_id,
            starts_at=utcnow() + timedelta(days=1 + n % 3, hours=n),
            status="confirmed",
            provider="Dr. Chen",
            actor="drill",
            settings=desk.settings,
        )
        booked.append(appointment.id)
    return booked


# The desk's writers: store services on threads, as the TUI's workers call them


def move_appointments(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        appointment_id = rng.choice(booked)
        starts_at, status = ledger.last.get(appointment_id, (None, "confirmed"))
        with store_connection():
            if rng.random() < 0.7:
                minutes = rng.randint(26 * 60, 6 * 24 * 60)
                starts_at = (utcnow() + timedelta(minutes=minutes)).replace(
                    second=0, microsecond=0
                )
                done = reschedule_appointment(
                    desk.practice,
                    appointment_id,
                    starts_at,
                    actor="tui",
                    settings=desk.settings,
                )
            else:
                status = "booked" if status == "confirmed" else "confirmed"
                done = set_appointment_status(
                    desk.practice,
                    appointment_id,
                    status,
                    actor="tui",
                    settings=desk.settings,
                )
        ledger.last[appointment_id] = (done.starts_at, str(done.status))
        ledger.writes += 1


def queue_and_cancel_texts(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        later = rng.random() < 0.6
        at = utcnow() + (timedelta(hours=3) if later else timedelta())
        with store_connection():
            message = schedule_message(
                desk.practice,
                patient_id=rng.choice(groups.messages),
                body=f"Desk text {ledger.writes:05d}",
                at=at,
                actor="tui",
                settings=desk.settings,
            )
            ledger.last[message.id] = (
                MessageStatus.PENDING if later else MessageStatus.SENT
            )
            if later and rng.random() < 0.5:
                cancel_message(desk.practice, message.id, actor="tui")
                ledger.last[message.id] = MessageStatus.CANCELLED
        ledger.writes += 1


def edit_patients(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        patient_id = rng.choice(groups.edits)
        name = f"Edited{ledger.writes:05d}"
        with store_connection():
            update_patient(desk.practice, patient_id, actor="tui", last_name=name)
        ledger.last[patient_id] = name
        ledger.writes += 1


def toggle_consent(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        patient_id = rng.choice(groups.consent)
        granted = not ledger.last.get(patient_id, True)
        record = grant_consent if granted else revoke_consent
        with store_connection():
            record(
                desk.practice,
                patient_id,
                source="front_desk_verbal",
                actor="tui",
                settings=desk.settings,
            )
        ledger.last[patient_id] = granted
        ledger.writes += 1


def read_pages(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    # The screens poll while others write; a read must not fail either.
    while not stop.is_set():
        with store_connection():
            list_messages(desk.practice, limit=50, newest_first=True)
            count_by_status(desk.practice)
            search_patients(desk.practice, "Drill")
            appointments_between(desk.practice, utcnow(), utcnow() + timedelta(days=7))
        ledger.writes += 1
        time.sleep(0.05)


# The command line's writers: `frontdesk` in a new process each time


def cli_schedule_and_cancel(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        later = rng.random() < 0.6
        done = cli(
            ledger,
            desk,
            "schedule",
            "--patient",
            rng.choice(groups.cli_messages),
            "--at",
            "+3h" if later else "now",
            f"--body=Command-line text {ledger.writes:05d}",
        )
        found = re.search(r"Scheduled message (\d+)", done.stdout)
        if found is None:
            continue
        message_id = int(found.group(1))
        ledger.last[message_id] = MessageStatus.PENDING if later else MessageStatus.SENT
        if later and rng.random() < 0.5:
            cancelled = cli(ledger, desk, "cancel", message_id)
            if cancelled.returncode == 0:
                ledger.last[message_id] = MessageStatus.CANCELLED


def cli_toggle_consent(  # type: ignore[no-untyped-def]
    ledger, desk, groups, booked, stop, seed
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        patient_id = rng.choice(groups.cli_consent)
        granted = not ledger.last.get(patient_id, True)
        action = "grant" if granted else "revoke"
        done = cli(
            ledger, desk, "consent", action, patient_id, "--source", "front_desk_verbal"
        )
        if done.returncode == 0:
            ledger.last[patient_id] = granted


def cli(ledger: Ledger, desk: Desk, *argv: object):  # type: ignore[no-untyped-def]
    done = run_cli(desk.home, *argv)
    ledger.writes += 1
    if done.returncode != 0 or LOCKED in done.stderr or done.stderr.strip():
        ledger.errors.append(
            f"`frontdesk {' '.join(map(str, argv))}` exited {done.returncode}: "
            f"{done.stderr.strip()[-500:]}"
        )
    return done


# What the database must say at the end


def settle(ids: list, timeout: float) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = ScheduledMessage.select().where(
            ScheduledMessage.id.in_(ids)
            & (ScheduledMessage.status != MessageStatus.SENT)
        )
        if not pending.exists():
            return
        time.sleep(0.2)


def check_appointments(ledger: Ledger) -> None:
    for appointment_id, (starts_at, status) in ledger.last.items():
        appointment = Appointment.get_by_id(appointment_id)
        assert (appointment.starts_at, appointment.status) == (starts_at, status), (
            f"appointment {appointment_id}: the desk's last edit was lost"
        )
        reminders = list(
            ScheduledMessage.select().where(
                (ScheduledMessage.appointment == appointment_id)
                & (ScheduledMessage.kind == MessageKind.REMINDER)
                & (ScheduledMessage.status == MessageStatus.PENDING)
            )
        )
        if status != "confirmed":
            assert not reminders, f"appointment {appointment_id} is {status}"
            continue
        stale = [m.id for m in reminders if reminder_start(m) != starts_at]
        assert not stale, f"reminders {stale} still point at an old start time"


def check_messages(ledger: Ledger) -> None:
    found = list(
        ScheduledMessage.select().where(ScheduledMessage.id.in_(list(ledger.last)))
    )
    wrong = [m for m in found if m.status != ledger.last[m.id]]
    assert len(found) == len(ledger.last), f"{ledger.name}: messages went missing"
    assert not wrong, (
        f"{ledger.name}: "
        + ", ".join(f"{m.id} is {m.status}, not {ledger.last[m.id]}" for m in wrong)
        + "\n"
        + describe(wrong)
    )


def check_names(ledger: Ledger) -> None:
    for patient_id, name in ledger.last.items():
        assert Patient.get_by_id(patient_id).last_name == name, patient_id


def check_consent(ledger: Ledger) -> None:
    for patient_id, granted in ledger.last.items():
        has = current_consent(Patient.get_by_id(patient_id)) is not None
        assert has == granted, f"{ledger.name}: patient {patient_id} consent lost"


def read_if_exists(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
