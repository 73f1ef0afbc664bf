"""Bad-input drill: fuzz `frontdesk import` and `frontdesk schedule`.

Exports arrive in every encoding, with ragged rows, duplicate headers, huge
cells, control characters and impossible dates. Every file ends in a clear
error (exit 2, the line and column on stderr, nothing written) or a correct
import (exit 0, the rows in the database are the file's). Never a traceback,
never exit 1 for bad input, never a partial write.
"""

import codecs
import contextlib
import csv
import io
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from tests.drills.desk import mobile, run_cli, sizes

ZONE = ZoneInfo("America/New_York")
TABLES = ("patient", "appointment", "consent_record", "scheduled_message")


@dataclass(frozen=True)
class FuzzSize:
    examples: int
    # The short drill draws the same cases every run, so CI is repeatable.
    derandomize: bool


SIZES = sizes(FuzzSize(60, derandomize=True), FuzzSize(2000, derandomize=False))


def fuzz_settings(size: FuzzSize):  # type: ignore[no-untyped-def]
    return settings(
        max_examples=size.examples,
        derandomize=size.derandomize,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# A desk to import into, reset before every case


@dataclass
class Desk:
    """A template home with a few patients, copied fresh for each case."""

    template: Path
    home: Path

    def reset(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.copytree(self.template, self.home)

    def run(self, *argv: object) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--home", str(self.home), *map(str, argv)])
        return code, out.getvalue(), err.getvalue()

    def snapshot(self) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
        with contextlib.closing(sqlite3.connect(self.home / "frontdesk.db")) as db:
            return {
                table: db.execute(f"select * from {table} order by id").fetchall()
                for table in (*TABLES, "audit_event")
            }

    def query(self, sql: str) -> list[tuple]:  # type: ignore[type-arg]
        with contextlib.closing(sqlite3.connect(self.home / "frontdesk.db")) as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    template = tmp_path / "template"
    code = main(
        ["--home", str(template), "init", "--practice", "Harbour Dental",
         "--timezone", "America/New_York"]
    )  # fmt: skip
    assert code == 0
    seed = tmp_path / "seed.csv"
    seed.write_text(
        "Patient ID,First Name,Last Name,Mobile,SMS Consent\n"
        f"BASE1,Maria,Lopez,{mobile(900)},yes\n"
        f"BASE2,Tom,Baker,{mobile(901)},no\n"
    )
    assert main(["--home", str(template), "import", "patients", str(seed)]) == 0
    for leftover in template.glob("*.log"):
        leftover.unlink()
    return Desk(template, tmp_path / "home")


# Files built row by row, knowing which rows are wrong and where


@dataclass
class Case:
    """A CSV file, the rows it should create, and the lines it should refuse."""

    kind: str
    data: bytes
    expected: set[tuple]  # type: ignore[type-arg]
    bad_lines: set[int] = field(default_factory=set)
    # Set when the file as a whole is unreadable (encoding, NUL, quoting).
    unreadable: bool = False

    def __repr__(self) -> str:
        return f"Case({self.kind}, bad lines {sorted(self.bad_lines)}, {self.data!r})"


NAMES = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters=",;\t"
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.split() and s.strip() == s)
YES = ("yes", "Y", "true", "1", "x", "Opted In", "granted")
NO = ("no", "N", "false", "0", "opted out", "declined")
PHONE_LAYOUTS = (
    "({a}) {b}-{c}",
    "{a}.{b}.{c}",
    "+1 {a} {b} {c}",
    "1-{a}-{b}-{c}",
    "{a}{b}{c}",
    "  {a} {b} {c} ",
)

# A wrong cell, and the column it goes in. The drill knows the row is bad.
BAD_CELLS = {
    "phone": ["12345", "+44 20 7946 0958", "not a number", "0000000000", "+1"],
    "consent": ["maybe", "2", "yes please"],
    "first": ["", "Ann\x07", "Ann\x7f", "Bo\x9bb", "A" * 101],
    "id": ["bad\x01id", "x" * 101],
    "date": ["2026-02-30", "2026-13-01", "31/31/2026", "tomorrow", "2026-06"],
    "time": ["25:00", "9:75", "noon-ish", "", "24:00"],
    "duration": ["0", "99999", "-5", "1e3", "½", "25h", "9" * 30],
    "status": ["Perhaps", "done?", "-"],
}


@st.composite
def patient_files(draw) -> Case:  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 6))
    columns = draw(st.permutations(["id", "first", "last", "phone", "consent"]))
    headers = {
        "id": draw(st.sampled_from(["Patient ID", "MRN", "chart no", "ExternalID"])),
        "first": draw(st.sampled_from(["First Name", "given name", "FORENAME"])),
        "last": draw(st.sampled_from(["Last Name", "surname", "Family Name"])),
        "phone": draw(st.sampled_from(["Mobile", "Cell Phone", "phone number"])),
        "consent": draw(st.sampled_from(["SMS Consent", "opt-in", "OK to text"])),
    }
    rows, expected, bad = [], set(), set()
    for n in range(count):
        first, last = draw(NAMES), draw(NAMES)
        consent = draw(st.sampled_from(YES + NO + ("",)))
        row = {
            "id": f"F{n}",
            "first": first,
            "last": last,
            "phone": phone_text(draw, 100 + n),
            "consent": consent,
        }
        wrong = draw(
            st.sampled_from([None] * 4 + ["phone", "consent", "first", "id", "ragged"])
        )
        if wrong == "ragged":
            row["ragged"] = True
            bad.add(n)
        elif wrong is not None:
            row[wrong] = draw(st.sampled_from(BAD_CELLS[wrong]))
            bad.add(n)
        else:
            digits = "".join(ch for ch in mobile(100 + n) if ch.isdigit())
            expected.add(
                (
                    f"F{n}",
                    " ".join(first.split()),
                    " ".join(last.split()),
                    "+1" + digits,
                )
            )
        rows.append(row)
    if count >= 2 and 0 not in bad and draw(st.booleans()):
        # Two rows claiming the same id: the second is refused. (A row refused
        # for another reason claims nothing, so the first must be good.)
        rows[-1]["id"] = rows[0]["id"]
        bad.add(count - 1)
        expected = {e for e in expected if e[0] != f"F{count - 1}"}
    return render(draw, "patients", columns, headers, rows, bad, expected)


@st.composite
def appointment_files(draw) -> Case:  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 5))
    columns = draw(
        st.permutations(
            ["id", "first", "last", "phone", "date", "time", "duration", "status"]
        )
    )
    headers = {
        "id": "Appointment ID",
        "first": draw(st.sampled_from(["First Name", "Patient First Name"])),
        "last": "Last Name",
        "phone": draw(st.sampled_from(["Mobile", "cell phone"])),
        "date": draw(st.sampled_from(["Date", "Appt Date"])),
        "time": draw(st.sampled_from(["Time", "Start Time"])),
        "duration": draw(st.sampled_from(["Length", "Duration", "Minutes"])),
        "status": "Status",
    }
    rows, expected, bad = [], set(), set()
    for n in range(count):
        day = date.today() + timedelta(days=draw(st.integers(2, 300)))
        hour, minute = draw(st.integers(8, 17)), draw(st.integers(0, 59))
        clock = draw(
            st.sampled_from(
                [
                    f"{hour:02d}:{minute:02d}",
                    f"{hour % 12 or 12}:{minute:02d} {'PM' if hour >= 12 else 'AM'}",
                    f"{hour % 12 or 12}:{minute:02d}{'pm' if hour >= 12 else 'am'}",
                    f"{hour:02d}:{minute:02d}:00",
                ]
            )
        )
        minutes = draw(st.sampled_from([30, 45, 60, 90]))
        length = draw(
            st.sampled_from(
                [str(minutes), f"{minutes} min", f"{minutes // 60}:{minutes % 60:02d}"]
            )
        )
        status = draw(st.sampled_from(["Booked", "confirmed", "CANCELLED", ""]))
        row = {
            "id": f"A{n}",
            "first": f"Pat{n}",
            "last": "Fuzz",
            "phone": phone_text(draw, 200 + n),
            "date": day.isoformat(),
            "time": clock,
            "duration": length,
            "status": status,
        }
        wrong = draw(
            st.sampled_from(
                [None] * 5
                + ["phone", "date", "time", "duration", "status", "id", "ragged"]
            )
        )
        if wrong == "ragged":
            row["ragged"] = True
            bad.add(n)
        elif wrong is not None:
            row[wrong] = draw(st.sampled_from(BAD_CELLS[wrong]))
            bad.add(n)
        else:
            local = datetime.combine(day, datetime.min.time()).replace(
                hour=hour, minute=minute, tzinfo=ZONE
            )
            starts = local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            expected.add((f"A{n}", starts, minutes, (status or "booked").lower()))
        rows.append(row)
    return render(draw, "appointments", columns, headers, rows, bad, expected)


def phone_text(draw, n: int) -> str:  # type: ignore[no-untyped-def]
    digits = "".join(ch for ch in mobile(n) if ch.isdigit())
    layout = draw(st.sampled_from(PHONE_LAYOUTS))
    return layout.format(a=digits[:3], b=digits[3:6], c=digits[6:])


def render(  # type: ignore[no-untyped-def]
    draw, kind, columns, headers, rows, bad, expected
) -> Case:
    """Write the rows as a file: some delimiter, line ending, encoding and
    blank lines, keeping count of the line each row lands on."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))

    def line(cells: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator=ending).writerow(cells)
        return buffer.getvalue()

    text = line([headers[c] for c in columns])
    number = 1 + text.count("\n")
    bad_lines = set()
    for index, row in enumerate(rows):
        if draw(st.integers(0, 5)) == 0:
            text += ending
            number += 1
        cells = [row[c] for c in columns]
        # A ragged row has one value too many.
        record = line([*cells, "extra"] if row.get("ragged") else cells)
        if index in bad:
            bad_lines.add(number)
        text += record
        number += record.count("\n")
    return Case(kind, text.encode(encoding), expected, bad_lines)


# Files broken as a whole, or broken at random


@st.composite
def broken_files(draw) -> Case:  # type: ignore[no-untyped-def]
    """A good or bad file, then damaged byte by byte; anything may come of it
    except a traceback or a partial write."""
    base = draw(st.one_of(patient_files(), appointment_files()))
    data = base.data
    damage = draw(
        st.sampled_from(
            [
                "latin1",
                "nul",
                "truncate",
                "bytes",
                "bom",
                "huge",
                "duplicate_header",
                "empty",
                "blank",
                "header_only",
                "binary",
            ]
        )
    )
    if damage == "latin1":
        text = data.decode(
            "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        )
        data = (text + "Zoë,Müller,ção\n").encode("latin-1", errors="replace")
    elif damage == "nul":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
    elif damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif damage == "bom":
        data = draw(st.sampled_from([codecs.BOM_UTF16_LE, codecs.BOM_UTF8 * 2])) + data
    elif damage == "huge":
        size = draw(st.sampled_from([501, 5_000, 200_000]))
        data += b'"' + b"x" * size + b'",1\n'
    elif damage == "duplicate_header":
        data = b"Mobile,Cell Phone,First Name,Date,Time\n" + data
    elif damage == "empty":
        data = b""
    elif damage == "blank":
        data = b" \r\n\n\t\n"
    elif damage == "header_only":
        data = data.split(b"\n", 1)[0] + b"\n"
    else:
        data = draw(st.binary(max_size=300))
    return Case(base.kind, data, set(), unreadable=True)


# The drills


@pytest.mark.parametrize("size", SIZES)
def test_imports_end_in_a_clear_error_or_a_correct_import(
    size: FuzzSize, desk: Desk, tmp_path: Path
) -> None:
    @fuzz_settings(size)
    @given(case=st.one_of(patient_files(), appointment_files()))
    def check(case: Case) -> None:
        desk.reset()
        before = desk.snapshot()
        code, out, err = import_file(desk, tmp_path, case)

        assert "Traceback" not in err and "unexpected" not in err, err
        if case.bad_lines:
            assert code == 2, f"exit {code} for a file with bad rows:\n{out}{err}"
            for number in case.bad_lines:
                assert f"line {number}" in err, f"line {number} not named:\n{err}"
            assert desk.snapshot() == before, "a refused file wrote rows"
            return

        assert code == 0, err
        assert imported(desk, case.kind) == case.expected

    check()


@pytest.mark.parametrize("size", SIZES)
def test_broken_files_never_crash_and_never_write_half(
    size: FuzzSize, desk: Desk, tmp_path: Path
) -> None:
    @fuzz_settings(size)
    @given(case=broken_files())
    def check(case: Case) -> None:
        desk.reset()
        before = desk.snapshot()
        code, out, err = import_file(desk, tmp_path, case)

        assert code in (0, 2), f"exit {code}:\n{err}"
        assert "Traceback" not in err and "unexpected" not in err, err
        after = desk.snapshot()
        if code == 2:
            assert err.startswith("frontdesk:") and "nothing" in err.lower(), err
            assert after == before, "a refused file wrote rows"
            return

        # A damaged file may still be valid CSV; then all its rows went in.
        assert "created" in out, out
        added = len(after["patient"]) - len(before["patient"])
        added += len(after["appointment"]) - len(before["appointment"])
        assert added <= out.count("created") * 50_000

    check()


@pytest.mark.parametrize("size", SIZES)
def test_schedule_refuses_bad_input_clearly(
    size: FuzzSize, desk: Desk, tmp_path: Path
) -> None:
    at = st.one_of(
        st.sampled_from(
            [
                "now",
                "+15m",
                "+0s",
                "+1h30m",
                "+99999d",
                "+9999999d",
                "+-5m",
                "+",
                "9999-12-31 23:59",
                "0001-01-01 00:00",
                "2026-02-30 10:00",
                "2027-03-14 02:30",
                "2099-12-14T14:30:00Z",
                "2099-12-14 09:30",
                "yesterday",
                "",
            ]
        ),
        st.text(max_size=30),
    )
    body = st.one_of(
        st.sampled_from(["Hello", "Your visit is at 9:30 ✓", "x" * 1601, "", " "]),
        st.text(max_size=200),
    )
    who = st.one_of(
        st.tuples(st.just("--patient"), st.sampled_from(["1", "2", "3", "0", "-1"])),
        st.tuples(st.just("--patient"), st.integers().map(str)),
        st.tuples(st.just("--to"), st.sampled_from([mobile(900), "+1", "12345", ""])),
        st.tuples(st.just("--to"), st.text(max_size=30)),
    )

    @fuzz_settings(size)
    @given(who=who, at=at, body=body)
    def check(who: tuple[str, str], at: str, body: str) -> None:
        desk.reset()
        before = desk.snapshot()
        code, out, err = desk.run(
            "schedule", f"{who[0]}={who[1]}", f"--at={at}", f"--body={body}"
        )

        assert code in (0, 2), f"exit {code}:\n{err}"
        assert "Traceback" not in err and "unexpected" not in err, err
        after = desk.snapshot()
        if code == 2:
            assert err.strip(), "refused without saying why"
            assert after["scheduled_message"] == before["scheduled_message"]
            return

        new = desk.query("select body, status from scheduled_message")
        assert new == [(body, "pending")], out

    check()


def test_a_few_files_through_a_real_process(desk: Desk, tmp_path: Path) -> None:
    """The same promises hold for `python -m cli.main`, where a crash would
    print a real traceback."""
    cases = {
        "latin-1.csv": "Patient ID,First Name,Mobile\nP1,Zoë,(212) 555-0101\n".encode(
            "latin-1"
        ),
        "nul.csv": b"Patient ID,First Name,Mobile\nP1,Ann\x00,(212) 555-0101\n",
        "empty.csv": b"",
        "ragged.csv": b"Patient ID,First Name,Mobile\nP1,Ann,(212) 555-0101,x\n",
        "far.csv": b"ID,First Name,Mobile,Date,Time\nA1,Bo,(212) 555-0102,"
        b"9999-12-31,23:59\n",
    }
    desk.reset()
    before = desk.snapshot()
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        kind = "appointments" if name == "far.csv" else "patients"
        done = run_cli(desk.home, "import", kind, path)
        assert done.returncode == 2, f"{name}: exit {done.returncode}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("frontdesk:"), done.stderr
    assert desk.snapshot() == before


def import_file(desk: Desk, tmp_path: Path, case: Case) -> tuple[int, str, str]:
    path = tmp_path / "import.csv"
    path.write_bytes(case.data)
    return desk.run("import", case.kind, path)


def imported(desk: Desk, kind: str) -> set[tuple]:  # type: ignore[type-arg]
    """The rows the file added, in the terms the generator expects."""
    if kind == "patients":
        return set(
            desk.query(
                "select external_id, first_name, last_name, phone from patient "
                "where external_id like 'F%'"
            )
        )
    return {
        (ext, starts[:19], minutes, status)
        for ext, starts, minutes, status in desk.query(
            "select external_id, starts_at, duration_minutes, status from appointment"
        )
    }
