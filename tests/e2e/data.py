"""A realistic appointments export for tests: deterministic, and as messy as
real practice systems write them (phone formats, status spellings, a comma
inside a quoted provider name, separate date and time columns)."""

import csv
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import phonenumbers

HEADER = [
    "Appointment ID",
    "Patient ID",
    "Patient First Name",
    "Patient Last Name",
    "Mobile Phone",
    "Date",
    "Time",
    "Duration",
    "Provider",
    "Status",
    "SMS Opt In",
]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _names(
    "Olivia Marcus Priya Daniel Sofia Ethan Grace Liam Hannah Noah Chloe Mateo "
    "Ava Samuel Zoe Isaac Mia Leo Nora Owen Ruby Caleb Layla Jonah Elena Theo "
    "Amara Felix Iris Hugo Maya Oscar Lena Arjun Clara Tobias Yara Emil Rosa Kofi"
)
LAST_NAMES = _names(
    "Bennett Reid Raman Okafor Marquez Walsh Kim O'Connor Novak Fischer Dubois "
    "Silva Thompson Levi Harper Brennan Castillo Andersen Iqbal Mensah Lindqvist "
    "Murphy Haddad Park Rossi Walker Eze Wagner Nguyen Kowalski Ahmed Schmidt "
    "Moreau García Jensen Tanaka Byrne Costa Lopez Ito"
)
PROVIDERS = ("Dr. Amelia Chen", "Dr. Rafael Ortiz", "Jess Patel, RDH")
AREA_CODES = (212, 415, 617, 718, 646, 917, 201, 312, 305)
AU_MOBILES = ("+61 491 570 006", "+61 491 570 156", "+61 491 570 157")
PHONE_LAYOUTS = (
    "({a}) 555-{n}",
    "{a}.555.{n}",
    "1-{a}-555-{n}",
    "{a} 555 {n}",
    "{a}-555-{n}",
    "+1 {a} 555 {n}",
    "({a})555{n}",
)
STATUSES = (
    # spelling, canonical status, weight
    ("Confirmed", "confirmed", 30),
    ("CONFIRMED", "confirmed", 10),
    ("confirmed", "confirmed", 10),
    ("Conf", "confirmed", 15),
    ("Scheduled", "booked", 10),
    ("Unconfirmed", "booked", 8),
    ("Booked", "booked", 5),
    ("Cancelled", "cancelled", 5),
    ("CXL", "cancelled", 3),
    ("canceled", "cancelled", 4),
)
CONSENT = (
    ("Y", True),
    ("yes", True),
    ("TRUE", True),
    ("1", True),
    ("N", False),
    ("no", False),
    ("", None),
)
CONSENT_WEIGHTS = (30, 25, 15, 15, 6, 4, 5)
DURATIONS = (("30", 30), ("45", 45), ("60", 60), ("30 min", 30), ("15", 15))

# The bad rows, when asked for: what goes wrong, and the column it is in.
BAD_ROWS = (
    ("Mobile Phone", {"phone": "+44 20 7946 0958"}),
    ("Date", {"date": "2026-02-30"}),
    ("Mobile Phone", {"phone": "12345"}),
    ("Status", {"status_text": "Maybe later"}),
)
BAD_POSITIONS = (13, 57, 101, 150)


def write_appointments_csv(
    path: Path,
    *,
    start_local: datetime,
    count: int = 200,
    bad_rows: bool = False,
) -> list[dict]:
    """Write ``count`` appointment rows from ``start_local`` on, and return
    what each row says.

    ``start_local`` is the practice's wall-clock time of the first slot,
    naive or aware in the practice's zone; slots run on weekdays from 09:00
    to 16:30, one per provider each half hour. Each returned dict has the
    row's ``line`` in the file and, in the store's terms, ``external_id``,
    ``patient_external_id``, ``first_name``, ``last_name``, ``phone`` (as
    written), ``phone_e164``, ``starts_local`` (naive wall clock),
    ``starts_at`` (aware, when ``start_local`` is aware), ``duration_minutes``,
    ``provider``, ``status_text``, ``status``, ``sms_consent`` (True, False or
    None for blank) and ``error_column`` (the header of the bad cell, or
    None). With ``bad_rows`` four rows (a UK landline, 2026-02-30, '12345'
    and an unknown status) replace good ones, when ``count`` reaches them.
    """
    rng = random.Random(20261214)
    zone = start_local.tzinfo
    patients = _patients(rng, max(1, count * 3 // 5))
    slots = _slots(start_local.replace(tzinfo=None))

    rows = []
    for number in range(count):
        slot, provider = next(slots)
        patient = patients[min(int(rng.paretovariate(1.2)) - 1, len(patients) - 1)]
        if rng.random() < 0.6:
            patient = patients[number % len(patients)]
        spelling, status = _weighted(rng, STATUSES)
        duration_text, duration = DURATIONS[rng.randrange(len(DURATIONS))]
        rows.append(
            {
                "line": number + 2,
                "external_id": f"APT-{40000 + number * 7}",
                **patient,
                "date": slot.date().isoformat(),
                "time": slot.strftime("%H:%M"),
                "starts_local": slot,
                "starts_at": slot.replace(tzinfo=zone) if zone else None,
                "duration_text": duration_text,
                "duration_minutes": duration,
                "provider": provider,
                "status_text": spelling,
                "status": status,
                "error_column": None,
            }
        )

    if bad_rows:
        for (column, change), position in zip(BAD_ROWS, BAD_POSITIONS, strict=True):
            if position < len(rows):
                bad = rows[position]
                bad.update(change, error_column=column)
                bad["patient_external_id"] = f"BAD-{position}"

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(
                [
                    row["external_id"],
                    row["patient_external_id"],
                    row["first_name"],
                    row["last_name"],
                    row["phone"],
                    row["date"],
                    row["time"],
                    row["duration_text"],
                    row["provider"],
                    row["status_text"],
                    row["consent_text"],
                ]
            )
    return rows


def _patients(rng: random.Random, count: int) -> list[dict]:
    patients = []
    for number in range(count):
        if number % 17 == 16:
            phone = AU_MOBILES[number // 17 % len(AU_MOBILES)]
        else:
            area = AREA_CODES[number % len(AREA_CODES)]
            line = f"{100 + number // len(AREA_CODES) % 100:04d}"
            layout = PHONE_LAYOUTS[rng.randrange(len(PHONE_LAYOUTS))]
            phone = layout.format(a=area, n=line)
        consent_text, consent = _weighted_consent(rng)
        patients.append(
            {
                "patient_external_id": f"MRN-{10000 + number}",
                "first_name": FIRST_NAMES[number % len(FIRST_NAMES)],
                "last_name": LAST_NAMES[number * 7 % len(LAST_NAMES)],
                "phone": phone,
                "phone_e164": _e164(phone),
                "consent_text": consent_text,
                "sms_consent": consent,
            }
        )
    return patients


def _slots(first: datetime):  # type: ignore[no-untyped-def]
    day: date = first.date()
    while True:
        if day.weekday() < 5:
            for half_hours in range(16):
                slot = datetime.combine(day, time(9)) + timedelta(
                    minutes=30 * half_hours
                )
                if slot < first:
                    continue
                for provider in PROVIDERS:
                    yield slot, provider
        day += timedelta(days=1)


def _weighted(rng: random.Random, table):  # type: ignore[no-untyped-def]
    spelling, status, _ = rng.choices(table, weights=[w for *_, w in table])[0]
    return spelling, status


def _weighted_consent(rng: random.Random) -> tuple[str, bool | None]:
    return rng.choices(CONSENT, weights=CONSENT_WEIGHTS)[0]


def _e164(phone: str) -> str:
    number = phonenumbers.parse(phone, "US")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
