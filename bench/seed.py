"""Bench homes and their rows, written in bulk so seeding stays quick.

Rows are written with ``insert_many`` in one transaction, bypassing the
services (which commit durably per row); they carry every field the
services would set, so the pipeline sees them as it would in real use.
"""

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.db import close_database, database, open_database
from store.models import (
    Appointment,
    AppointmentStatus,
    ConsentRecord,
    ConsentSource,
    MessageKind,
    MessageStatus,
    Patient,
    Practice,
    ScheduledMessage,
    SentMessage,
    phone_tail_key,
    search_key,
)
from store.practices import create_practice

SENDER = "+15005550006"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "f" * 32

FIRST_NAMES = (  # noqa: SIM905 - a list of words reads better as words
    "Maria Mariana Marianne Mario Marion Mark Martin Mary Marcus Mateo Aaron "
    "Abigail Adam Aisha Alex Alice Amara Amir Ana Andrew Anna Ben Carlos "
    "Chloe Daniel David Diego Elena Emma Ethan Fatima Grace Hana Ivan Jack "
    "James Jose Julia Kai Laura Leo Liam Lucia Luis Maya Mia Noah Nora Olivia "
    "Omar Priya Rosa Sam Sara Sofia Tom Wei Yara Zoe"
).split()
LAST_NAMES = (  # noqa: SIM905 - a list of words reads better as words
    "Smith Garcia Martinez Marino Marsh Mason Moore Miller Morgan Murphy "
    "Nguyen Brown Jones Davis Lopez Wilson Anderson Thomas Taylor Lee Harris "
    "Clark Lewis Robinson Walker Young Allen King Wright Scott Torres Hill "
    "Green Adams Baker Nelson Carter Mitchell Perez Roberts Turner Phillips "
    "Campbell Parker Evans Edwards Collins Stewart Sanchez Morris Rogers Reed "
    "Cook"
).split()

# Rows handed to the driver at once.
BATCH = 5000


def write_config(home: Path, *, sms: str, sending: str = "") -> None:
    """A config.toml with no quiet hours, so a bench runs at any hour."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(
        f'[sms]\n{sms}\n\n[sending]\nquiet_hours = ""\ntimeout = "5s"\n{sending}\n'
    )
    path.chmod(0o600)


def twilio_sms(api_base: str) -> str:
    return f'backend = "twilio"\nfrom = "{SENDER}"\napi_base = "{api_base}"'


OUTBOX_SMS = 'backend = "outbox"'


def open_home(home: Path) -> Practice:
    """Open (creating) the home's database; returns its one practice."""
    home.mkdir(parents=True, exist_ok=True)
    open_database(home / "frontdesk.db")
    practice = Practice.select().order_by(Practice.id).first()
    if practice is None:
        practice = create_practice("Harbour Dental", "America/New_York", "US")
    return practice


def close_home() -> None:
    close_database()
    database.initialize(None)


def phone(n: int) -> str:
    """A distinct, valid US mobile-shaped number for the nth patient."""
    return f"+1212{n // 10000 % 1000 + 200:03d}{n % 10000:04d}"


def insert_rows(  # type: ignore[no-untyped-def]
    model, fields, rows: Iterable[tuple]
) -> int:
    """Insert tuples inside the caller's transaction; returns how many.

    Peewee writes the INSERT for one row, and the driver repeats it for every
    row: building the SQL per row costs more than SQLite's own work, and a
    million history rows would take minutes.
    """
    # Peewee fills in the defaults of fields not given; give them here, so
    # every row binds the same columns as the statement.
    given = {f.name for f in fields}
    extra = [
        f
        for f in model._meta.sorted_fields
        if f.name not in given
        and f is not model._meta.primary_key
        and f.default is not None
    ]
    defaults = tuple(f.default() if callable(f.default) else f.default for f in extra)
    fields = [*fields, *extra]
    rows = (row + defaults for row in rows)

    first = next(rows, None)
    if first is None:
        return 0
    sql, _ = model.insert_many([first], fields=fields).sql()
    cursor = database.cursor()
    count = 0
    batch = [first]
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            cursor.executemany(sql, [_db_values(fields, r) for r in batch])
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, [_db_values(fields, r) for r in batch])
        count += len(batch)
    return count


def _db_values(fields, row: tuple) -> list:  # type: ignore[no-untyped-def]
    return [field.db_value(value) for field, value in zip(fields, row, strict=True)]


def add_patients(
    practice: Practice, count: int, now: datetime, *, seed: int = 7
) -> list[int]:
    """Patients with random names from a fixed list, each with SMS consent."""
    rng = random.Random(seed)
    first_id = (
        Patient.select(Patient.id).order_by(Patient.id.desc()).scalar() or 0
    ) + 1

    def patients() -> Iterator[tuple]:
        for n in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            number = phone(first_id + n)
            yield (
                practice.id,
                first,
                last,
                number,
                search_key(first),
                search_key(last),
                phone_tail_key(number),
                now,
                now,
            )

    with database.atomic():
        insert_rows(
            Patient,
            [
                Patient.practice,
                Patient.first_name,
                Patient.last_name,
                Patient.phone,
                Patient.first_key,
                Patient.last_key,
                Patient.phone_tail,
                Patient.created_at,
                Patient.updated_at,
            ],
            patients(),
        )
        ids = [
            pid
            for (pid,) in Patient.select(Patient.id)
            .where(Patient.id >= first_id)
            .order_by(Patient.id)
            .tuples()
        ]
        insert_rows(
            ConsentRecord,
            [
                ConsentRecord.practice,
                ConsentRecord.patient,
                ConsentRecord.granted,
                ConsentRecord.source,
                ConsentRecord.recorded_by,
                ConsentRecord.recorded_at,
            ],
            (
                (practice.id, pid, True, ConsentSource.WRITTEN_FORM, "bench", now)
                for pid in ids
            ),
        )
    return ids


MESSAGE_FIELDS = [
    ScheduledMessage.practice,
    ScheduledMessage.patient,
    ScheduledMessage.to_number,
    ScheduledMessage.body,
    ScheduledMessage.kind,
    ScheduledMessage.appointment,
    ScheduledMessage.reminder_offset,
    ScheduledMessage.status,
    ScheduledMessage.scheduled_for,
    ScheduledMessage.due_at,
    ScheduledMessage.created_by,
    ScheduledMessage.created_at,
    ScheduledMessage.updated_at,
]


def add_due_backlog(
    practice: Practice,
    patient_ids: list[int],
    count: int,
    now: datetime,
    *,
    tag: str = "Backlog",
) -> None:
    """``count`` messages due now: every other one a reminder of a confirmed
    appointment two hours away, the rest staff texts."""
    reminders = count // 2
    offset = 2 * 3600
    starts = now.replace(microsecond=0) + timedelta(hours=2, minutes=1)

    with database.atomic():
        first_appt = (
            Appointment.select(Appointment.id).order_by(Appointment.id.desc()).scalar()
            or 0
        ) + 1
        insert_rows(
            Appointment,
            [
                Appointment.practice,
                Appointment.patient,
                Appointment.provider,
                Appointment.starts_at,
                Appointment.status,
                Appointment.created_at,
                Appointment.updated_at,
            ],
            (
                (
                    practice.id,
                    patient_ids[i % len(patient_ids)],
                    "Dr Okafor",
                    starts,
                    AppointmentStatus.CONFIRMED,
                    now,
                    now,
                )
                for i in range(reminders)
            ),
        )

        def messages() -> Iterator[tuple]:
            for i in range(count):
                pid = patient_ids[i % len(patient_ids)]
                due = now - timedelta(seconds=30)
                if i % 2 == 0 and i // 2 < reminders:
                    yield (
                        practice.id,
                        pid,
                        phone_of(pid),
                        "",
                        MessageKind.REMINDER,
                        first_appt + i // 2,
                        offset,
                        MessageStatus.PENDING,
                        starts - timedelta(seconds=offset),
                        due,
                        "bench",
                        now,
                        now,
                    )
                else:
                    yield (
                        practice.id,
                        pid,
                        phone_of(pid),
                        f"{tag} text {i:06d}: see you soon",
                        MessageKind.MANUAL,
                        None,
                        None,
                        MessageStatus.PENDING,
                        due,
                        due,
                        "bench",
                        now,
                        now,
                    )

        insert_rows(ScheduledMessage, MESSAGE_FIELDS, messages())


_PHONES: dict[int, str] = {}


def phone_of(patient_id: int) -> str:
    number = _PHONES.get(patient_id)
    if number is None:
        number = Patient.get_by_id(patient_id).phone
        _PHONES[patient_id] = number
    return number


def add_old_history(
    practice: Practice, patient_ids: list[int], count: int, now: datetime
) -> None:
    """``count`` messages sent over the past years, with their sent records."""
    span = timedelta(days=3 * 365)
    numbers = {pid: phone_of(pid) for pid in patient_ids}
    step = span / max(count, 1)
    start = now - span

    with database.atomic():
        first_sent = (
            SentMessage.select(SentMessage.id).order_by(SentMessage.id.desc()).scalar()
            or 0
        ) + 1
        insert_rows(
            SentMessage,
            [
                SentMessage.practice,
                SentMessage.patient,
                SentMessage.to_number,
                SentMessage.body,
                SentMessage.provider_sid,
                SentMessage.segments,
                SentMessage.encoding,
                SentMessage.gateway,
                SentMessage.sent_at,
            ],
            (
                (
                    practice.id,
                    pid,
                    numbers[pid],
                    "An old reminder",
                    f"SM{n:032x}",
                    1,
                    "GSM-7",
                    "twilio",
                    start + step * n,
                )
                for n, pid in _cycle(patient_ids, count)
            ),
        )
        insert_rows(
            ScheduledMessage,
            [
                *MESSAGE_FIELDS,
                ScheduledMessage.sent_at,
                ScheduledMessage.provider_sid,
                ScheduledMessage.sent_message,
                ScheduledMessage.attempts,
            ],
            (
                (
                    practice.id,
                    pid,
                    numbers[pid],
                    "An old reminder",
                    MessageKind.MANUAL,
                    None,
                    None,
                    MessageStatus.SENT,
                    start + step * n,
                    start + step * n,
                    "bench",
                    start + step * n,
                    start + step * n,
                    start + step * n,
                    f"SM{n:032x}",
                    first_sent + n,
                    1,
                )
                for n, pid in _cycle(patient_ids, count)
            ),
        )


def _cycle(ids: list[int], count: int) -> Iterator[tuple[int, int]]:
    for n in range(count):
        yield n, ids[n % len(ids)]


def add_appointments(
    practice: Practice,
    patient_ids: list[int],
    count: int,
    now: datetime,
    *,
    today: int,
    seed: int = 11,
) -> None:
    """``count`` appointments over a year around now, ``today`` of them today."""
    rng = random.Random(seed)
    base = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    # Today is the practice's day, so the Today screen finds these.
    opening = (
        now.astimezone(practice.zone)
        .replace(hour=8, minute=0, second=0, microsecond=0)
        .astimezone(UTC)
    )

    def appointments() -> Iterator[tuple]:
        for n in range(count):
            if n < today:
                at = opening + timedelta(minutes=15 * (n % 40))
            else:
                at = base + timedelta(minutes=15 * rng.randint(-35000, 35000))
            yield (
                practice.id,
                rng.choice(patient_ids),
                "Dr Okafor",
                at,
                AppointmentStatus.CONFIRMED,
                now,
                now,
            )

    with database.atomic():
        insert_rows(
            Appointment,
            [
                Appointment.practice,
                Appointment.patient,
                Appointment.provider,
                Appointment.starts_at,
                Appointment.status,
                Appointment.created_at,
                Appointment.updated_at,
            ],
            appointments(),
        )
