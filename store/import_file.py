"""Reading a practice system's CSV export: its encoding, its columns, and
the value of each cell, checked and in the store's terms."""

import codecs
import csv
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from store.appointments import parse_status
from store.errors import InvalidInput
from store.import_cells import (
    CellError,
    practice_time_to_utc,
    read_consent,
    read_duration,
    read_start,
)
from store.models import AppointmentStatus, Practice
from store.phones import normalize_phone

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R", "PersonRow", "VisitRow")

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL = 500


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Header names as exports spell them, compared with case, spaces and
# punctuation removed ("Patient First Name" -> "patientfirstname").
_PERSON_ALIASES = {
    "first_name": _words("firstname patientfirstname givenname forename first"),
    "last_name": _words("lastname patientlastname surname familyname last"),
    "name": _words("name patientname fullname patient"),
    "phone": _words(
        "phone mobile cell mobilephone cellphone phonenumber mobilenumber "
        "cellnumber patientphone patientmobile patientcell mobilephonenumber "
        "cellphonenumber textnumber"
    ),
    "sms_consent": _words(
        "smsconsent consent smsoptin optin textconsent smsok textok oktotext"
    ),
}
_PATIENT_IDS = _words(
    "patientid patientexternalid mrn chartnumber chartno chart patientnumber "
    "accountnumber"
)
PATIENT_ALIASES = {
    **_PERSON_ALIASES,
    "external_id": ("externalid", "id", *_PATIENT_IDS),
}
APPOINTMENT_ALIASES = {
    **_PERSON_ALIASES,
    "external_id": _words(
        "externalid id appointmentid apptid appointmentexternalid appointmentnumber"
    ),
    "patient_external_id": _PATIENT_IDS,
    "starts_at": _words(
        "startsat start appointmenttime appointmentdatetime appointmentstart "
        "datetime starttime when"
    ),
    "date": _words("date appointmentdate apptdate startdate"),
    "time": _words("time starttime appointmenttime appttime"),
    "duration_minutes": _words(
        "durationminutes duration length lengthminutes minutes durationmins"
    ),
    "provider": _words(
        "provider doctor clinician practitioner stylist dentist hygienist providername"
    ),
    "status": _words("status appointmentstatus apptstatus"),
}


class ImportFileError(InvalidInput):
    """The file as a whole cannot be read: wrong encoding, not CSV, or a
    required column missing. Nothing was written."""


@dataclass(frozen=True)
class RowError:
    """A problem with one row, named by its line in the file and its column."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass
class PersonRow:
    """A patient as one row describes them, checked."""

    line: int
    first_name: str
    last_name: str | None
    phone: str | None
    external_id: str | None
    consent: bool | None


@dataclass
class VisitRow:
    """An appointment as one row describes it, checked; None means not given."""

    line: int
    person: PersonRow
    external_id: str | None
    starts_at: datetime
    duration: int | None
    provider: str | None
    status: AppointmentStatus | None


@dataclass
class Table:
    """The rows of a file as field -> cell text, with their line numbers.

    ``errors`` holds rows that could not be split into cells (ragged or
    oversized); ``skipped`` counts blank rows.
    """

    columns: dict[str, str]  # field -> header as written
    positions: dict[str, int]  # field -> index in a record
    ignored: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


# Reading the file


def read_table(source: Path | bytes, aliases: dict[str, tuple[str, ...]]) -> Table:
    """Decode and split a CSV file, matching its header to the fields in
    ``aliases``.

    Raises ImportFileError for a file that is not UTF-8 (or UTF-16 with a
    BOM) text, holds NUL bytes, is a spreadsheet, is too big, has broken
    quoting, or names one field in two columns.
    """
    text = _decode(_load(source))
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = max(",;\t", key=lambda d: (first.count(d), d == ","))

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header, header_line = _header(reader)
        positions, ignored = _map_columns(header, aliases)
        columns = {name: header[index] for name, index in positions.items()}
        table = Table(columns, positions, ignored)
        end = reader.line_num
        for record in reader:
            line, end = end + 1, reader.line_num
            _take_row(table, header, record, line)
            if len(table.rows) > MAX_ROWS:
                raise ImportFileError(
                    f"The file has over {MAX_ROWS:,} rows; split it into "
                    "smaller files and import each."
                )
    except csv.Error as exc:
        raise ImportFileError(
            f"line {reader.line_num} cannot be read as CSV ({exc}). Check that "
            "quotes around values are closed, and save it again as CSV."
        ) from exc

    log.debug("Read %d rows, header on line %d", len(table.rows), header_line)
    return table


def _load(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        try:
            with open(source, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ImportFileError(
                f"The file cannot be opened: {exc.strerror or exc}."
            ) from exc

    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            f"The file is over {MAX_FILE_BYTES // (1024 * 1024)} MB; split it "
            "into smaller files and import each."
        )
    return data


def _decode(data: bytes) -> str:
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportFileError(
            "This is a spreadsheet file (Excel), not CSV. In the spreadsheet "
            "choose Save As, pick 'CSV UTF-8', and import that file."
        )

    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"line {line} is not UTF-8 text (byte 0x{data[exc.start]:02X}). "
            "Save the file as 'CSV UTF-8' and import it again."
        ) from exc

    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportFileError(
            f"line {line} holds NUL bytes, so this is not a plain-text CSV "
            "file. Save it again as 'CSV UTF-8' and import that."
        )
    if not text.strip():
        raise ImportFileError("The file is empty.")
    return text


def _header(reader: Any) -> tuple[list[str], int]:
    for record in reader:
        if any(cell.strip() for cell in record):
            return [cell.strip() for cell in record], reader.line_num
    raise ImportFileError("The file is empty.")


def _map_columns(
    header: list[str], aliases: dict[str, tuple[str, ...]]
) -> tuple[dict[str, int], list[str]]:
    keys = [re.sub(r"[^0-9a-z]", "", name.casefold()) for name in header]
    has_date = any(key in aliases.get("date", ()) for key in keys)

    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, (name, key) in enumerate(zip(header, keys, strict=True)):
        # "Appointment Time" is a whole start on its own, but only the time
        # of day beside a date column.
        candidates = [f for f, words in aliases.items() if key in words]
        if has_date and "time" in candidates:
            candidates = ["time"]
        if not candidates:
            if name:
                ignored.append(name)
            continue

        target = candidates[0]
        if target in positions:
            raise ImportFileError(
                f'The columns "{header[positions[target]]}" and "{name}" both '
                f"look like the {_label(target)}; rename or remove one of them."
            )
        positions[target] = index
    return positions, ignored


def require_column(table: Table, fields: tuple[str, ...], shown: str) -> None:
    """Raise ImportFileError naming ``shown`` unless one of ``fields`` has a
    column."""
    if any(name in table.columns for name in fields):
        return
    aliases = {**APPOINTMENT_ALIASES, **PATIENT_ALIASES}.get(shown, ())
    found = ", ".join(f'"{h}"' for h in [*table.columns.values(), *table.ignored])
    raise ImportFileError(
        f'The file has no "{shown}" column (the {_label(shown)}; accepted '
        f"names include {', '.join(aliases[:6])}). Headers found: "
        f"{found or 'none'}."
    )


def _take_row(
    table: Table,
    header: list[str],
    record: list[str],
    line: int,
) -> None:
    if not any(cell.strip() for cell in record):
        table.skipped += 1
        return

    if len(record) != len(header):
        table.errors.append(
            RowError(
                line,
                None,
                f"has {len(record)} values but the header has {len(header)}. "
                "A value holding a comma needs quotes around it.",
            )
        )
        return

    for name, cell in zip(header, record, strict=True):
        if len(cell) > MAX_CELL:
            table.errors.append(
                RowError(
                    line,
                    f'"{name}"',
                    f"holds {len(cell):,} characters; a cell may hold at most "
                    f"{MAX_CELL}.",
                )
            )
            return

    values = {name: record[i].strip() for name, i in table.positions.items()}
    table.rows.append((line, values))


# Checking the rows


def row_errors(table: Table, line: int, exc: Exception) -> list[RowError]:
    """The RowErrors for RowProblems, a CellError or a store error."""
    if isinstance(exc, RowProblems):
        return [RowError(line, column_of(table, p.field_name), p.message) for p in exc]
    if isinstance(exc, CellError):
        return [RowError(line, column_of(table, exc.field_name), exc.message)]
    return [RowError(line, column_of(table, getattr(exc, "field", None)), str(exc))]


class RowProblems(Exception):
    """Every wrong cell of one row, so staff can fix a row in one go."""

    def __init__(self, problems: list[CellError]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.problems)


class _Cells:
    """Runs each cell's check and keeps every failure."""

    def __init__(self) -> None:
        self.problems: list[CellError] = []

    def check(self, check: Callable[..., T], *args: object) -> T | None:
        try:
            return check(*args)
        except CellError as exc:
            self.problems.append(exc)
        except InvalidInput as exc:
            self.problems.append(CellError(exc.field, str(exc)))
        return None

    def fail(self, field_name: str, message: str) -> None:
        self.problems.append(CellError(field_name, message))

    def finish(self) -> None:
        if self.problems:
            raise RowProblems(self.problems)


def read_person(
    practice: Practice, line: int, values: dict[str, str], *, name_required: bool
) -> PersonRow:
    """Check a row's patient cells. Raises RowProblems naming each bad cell."""
    cells = _Cells()
    person = _person(cells, practice, line, values, name_required)
    cells.finish()
    return person


def read_visit(
    practice: Practice, line: int, values: dict[str, str], date_format: str | None
) -> VisitRow:
    """Check a row's appointment and patient cells, reading times as practice
    time (or with ``date_format``). Raises RowProblems naming each bad cell."""
    cells = _Cells()
    person = _person(cells, practice, line, values, name_required=False)
    person.external_id = cells.check(_identifier, values, "patient_external_id")
    if person.external_id is None and not (person.first_name and person.phone):
        if not person.first_name:
            cells.fail(_name_field(values), _NEEDS_PATIENT)
        if not values.get("phone"):
            cells.fail("phone", _NEEDS_PATIENT)

    starts_at = None
    local = cells.check(read_start, values, date_format)
    if local is not None:
        starts_at = cells.check(practice_time_to_utc, local, practice.zone)

    status = None
    if values.get("status"):
        status = cells.check(parse_status, values["status"])

    provider = values.get("provider")
    if provider is not None:
        provider = " ".join(provider.split())
        if len(provider) > 100:
            cells.fail("provider", "is over 100 characters.")

    duration = cells.check(read_duration, values.get("duration_minutes", ""))
    external_id = cells.check(_identifier, values, "external_id")
    cells.finish()
    assert starts_at is not None
    return VisitRow(
        line=line,
        person=person,
        external_id=external_id,
        starts_at=starts_at,
        duration=duration,
        provider=provider,
        status=status,
    )


_NEEDS_PATIENT = (
    "is empty; without a patient ID the row needs the patient's first name and "
    "mobile number."
)


def _person(
    cells: _Cells,
    practice: Practice,
    line: int,
    values: dict[str, str],
    name_required: bool,
) -> PersonRow:
    first = values.get("first_name")
    last = values.get("last_name") if "last_name" in values else None
    if first is None and "name" in values:
        first, last = _split_name(values["name"])
    if name_required and not first:
        cells.fail(_name_field(values), "is empty; a patient needs a first name.")

    phone = None
    if values.get("phone"):
        phone = cells.check(normalize_phone, values["phone"], practice.region)
    elif name_required:
        cells.fail("phone", "is empty; a patient needs a mobile number.")

    return PersonRow(
        line=line,
        first_name=first or "",
        last_name=last,
        phone=phone,
        external_id=cells.check(_identifier, values, "external_id"),
        consent=cells.check(read_consent, values.get("sms_consent", "")),
    )


def _identifier(values: dict[str, str], name: str) -> str | None:
    text = values.get(name, "")
    if not text:
        return None
    if len(text) > 100 or not text.isprintable():
        raise CellError(name, "is not an id: over 100 characters or unprintable.")
    return text


def _split_name(text: str) -> tuple[str, str]:
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.strip().partition(" ")
    return first, last.strip()


def check_duplicates(table: Table, rows: list[R]) -> list[R]:
    """Add an error for each row whose own id an earlier row already used, and
    return the rows without them."""
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        value = row.external_id
        if value is None:
            kept.append(row)
            continue
        if value in seen:
            table.errors.append(
                RowError(
                    row.line,
                    column_of(table, "external_id"),
                    f"'{value}' is also on line {seen[value]}; each row needs "
                    "its own id.",
                )
            )
        else:
            seen[value] = row.line
            kept.append(row)
    return kept


# Naming columns in messages


_LABELS = {
    "first_name": "patient's first name",
    "last_name": "patient's last name",
    "name": "patient's name",
    "phone": "patient's mobile number",
    "external_id": "record's id",
    "patient_external_id": "patient's id",
    "starts_at": "appointment's date and time",
    "date": "appointment's date",
    "time": "appointment's start time",
    "duration_minutes": "length in minutes",
    "provider": "provider",
    "status": "appointment's status",
    "sms_consent": "SMS consent",
}


def _label(field_name: str) -> str:
    return _LABELS.get(field_name, field_name.replace("_", " "))


def _name_field(values: dict[str, str]) -> str:
    return "first_name" if "first_name" in values else "name"


def column_of(table: Table, field_name: str | None) -> str | None:
    """The column a field came from, as the file names it, quoted."""
    if field_name is None:
        return None
    if field_name == "starts_at" and "starts_at" not in table.columns:
        parts = [table.columns[f] for f in ("date", "time") if f in table.columns]
        return " + ".join(f'"{part}"' for part in parts) or None
    if field_name == "patient" or field_name == "patient_id":
        field_name = "patient_external_id"
    header = table.columns.get(field_name)
    if header is None and field_name == "first_name":
        header = table.columns.get("name")
    return f'"{header}"' if header is not None else None
