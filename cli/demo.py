"""`frontdesk demo`: a practice with patients and appointments, sending now.

It sets up a home (or refreshes an earlier demo home), imports a built-in
export, makes a few reminders fall due within the minute, and runs the daemon
with the outbox gateway, so nothing is really sent.
"""

import argparse
import csv
import io
import logging
import shlex
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cli.commands import Parents, Sub, connect_queue, init_home
from cli.main import EXIT_OK, CliError
from store.home import resolve_home
from store.models import utcnow

if TYPE_CHECKING:
    from cli.main import CliLogging
    from daemon.context import Desk
    from store.importer import ImportResult
    from store.models import ScheduledMessage

MARKER = ".frontdesk-demo"
DEFAULT_FOLDER = "frontdesk-demo"
PRACTICE = "Harbour Dental"
ZONE = "America/New_York"
REGION = "US"
ACTOR = "demo"

PROVIDERS = ("Dr. Amelia Chen", "Dr. Rafael Ortiz", "Jess Patel")

# First name, last name, phone as front desks type them, SMS consent. The
# numbers are in the 555-0100 to 555-0199 range kept for fiction.
PATIENTS = (
    ("Olivia", "Bennett", "(212) 555-0134", "yes"),
    ("Marcus", "Reid", "212.555.0141", "Y"),
    ("Priya", "Raman", "1-415-555-0199", "yes"),
    ("Daniel", "Okafor", "617 555 0112", "TRUE"),
    ("Sofia", "Marquez", "+1 (646) 555-0157", "yes"),
    ("Ethan", "Walsh", "718-555-0163", "1"),
    ("Grace", "Kim", "917.555.0178", "yes"),
    ("Liam", "O'Connor", "(201) 555-0129", "y"),
    ("Hannah", "Novak", "312 555 0186", "yes"),
    ("Noah", "Fischer", "305-555-0104", "yes"),
    ("Chloe", "Dubois", "+61 491 570 006", "yes"),
    ("Mateo", "Silva", "(415) 555-0172", "yes"),
    ("Ava", "Thompson", "646.555.0191", "no"),
    ("Samuel", "Levi", "212-555-0118", "yes"),
    ("Zoe", "Harper", "(718) 555-0145", "yes"),
    ("Isaac", "Brennan", "617-555-0133", ""),
    ("Mia", "Castillo", "917 555 0166", "yes"),
    ("Leo", "Andersen", "1 212 555 0152", "yes"),
    ("Nora", "Iqbal", "(305) 555-0187", "yes"),
    ("Owen", "Mensah", "201.555.0174", "yes"),
    ("Ruby", "Lindqvist", "312-555-0109", "yes"),
    ("Caleb", "Murphy", "(646) 555-0123", "no"),
    ("Layla", "Haddad", "415 555 0138", "yes"),
    ("Jonah", "Park", "+1 718 555 0195", "yes"),
    ("Elena", "Rossi", "(917) 555-0147", "yes"),
    ("Theo", "Walker", "212.555.0161", "yes"),
    ("Amara", "Eze", "617-555-0182", "yes"),
    ("Felix", "Wagner", "(201) 555-0116", "yes"),
)

HEADER = (
    "Appointment ID",
    "Patient ID",
    "Patient First Name",
    "Patient Last Name",
    "Mobile Phone",
    "Appointment Time",
    "Duration",
    "Provider",
    "Status",
    "SMS Opt In",
)


def add_demo(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "demo",
        parents=parents,
        help="try frontdesk with a demo practice; nothing is really sent",
        description="Set up a demo practice in ./frontdesk-demo (or --home; "
        "FRONTDESK_HOME is ignored, so a real home is never touched), import "
        "demo appointments, and run the sender with texts written to "
        "outbox.jsonl. Run it again to refresh the same demo home.",
    )
    p.add_argument(
        "--no-daemon",
        action="store_true",
        help="set everything up, but do not start the sender",
    )
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, logs: "CliLogging") -> int:
    from daemon.context import open_desk
    from store.importer import import_appointments

    root = Path(getattr(args, "home", None) or Path.cwd() / DEFAULT_FOLDER)
    home = resolve_home(root)
    reuse = _check_folder(home.root or root)
    if reuse:
        print(f"Refreshing the demo home from an earlier run: {home.root}")
    else:
        init_home(home, PRACTICE, ZONE, REGION, config_text=demo_config())
        (home.root or root).joinpath(MARKER).write_text(
            "This folder was made by `frontdesk demo`; it may be reused or deleted.\n",
            encoding="utf-8",
        )

    desk = open_desk(home)
    logs.attach(desk.home.state_dir)
    connect_queue(desk)

    now = utcnow()
    export = desk.home.data_dir / "demo-appointments.csv"
    export.write_text(demo_csv(now, desk.practice.zone), encoding="utf-8")
    result = import_appointments(
        desk.practice, export, settings=desk.settings, actor=ACTOR, now=now
    )
    if result.errors:
        lines = "\n  ".join(str(error) for error in result.errors)
        raise CliError(f"the demo export did not import:\n  {lines}", 1)
    message = _schedule_welcome(desk, now)

    _print_guide(desk.home.root or root, result, message.id)
    if args.no_daemon:
        where = shlex.quote(str(desk.home.root))
        print(f"Set up only. Start the sender with: frontdesk --home {where} daemon")
        return EXIT_OK

    from daemon.service import configure_logging, run_daemon

    print("Starting the sender now; press Ctrl-C to stop it.\n", flush=True)
    configure_logging()
    logging.getLogger("huey").setLevel(logging.NOTSET)
    return int(run_daemon(desk) or 0)


def _check_folder(root: Path) -> bool:
    """True to reuse an earlier demo home; False for a new one. Raises
    CliError for a folder that holds anything else."""
    if root.exists() and not root.is_dir():
        raise CliError(f"{root} is a file; choose a folder with --home.")
    if not root.exists() or not any(root.iterdir()):
        return False
    if (root / MARKER).exists() and (root / "frontdesk.db").exists():
        return True
    raise CliError(
        f"{root} already holds files and is not a demo home, so the demo "
        "will not touch it. Pass --home with a new folder."
    )


def demo_config() -> str:
    """config.toml for the demo: the outbox gateway and no quiet hours."""
    from store.settings import render_config_template

    text = render_config_template(PRACTICE, ZONE, REGION)
    swaps = {
        '# backend = "auto"': (
            "# The demo writes texts to outbox.jsonl instead of sending them.\n"
            'backend = "outbox"'
        ),
        '# quiet_hours = "21:00-08:00"': (
            "# The demo sends at any hour of the day, so it has no quiet hours.\n"
            '# A real practice keeps them, for example "21:00-08:00".\n'
            'quiet_hours = ""'
        ),
    }
    for old, new in swaps.items():
        if old not in text:
            raise CliError(f"the config template has no line {old!r}.", 1)
        text = text.replace(old, new)
    return text


def demo_csv(now: datetime, zone: ZoneInfo) -> str:
    """The demo practice's export: appointments over the coming days, a few
    whose reminders fall due within the minute, and some from yesterday."""
    rows: list[tuple[str, ...]] = []
    starts = _demo_starts(now, zone)

    for number, (start, status) in enumerate(starts):
        index = number % len(PATIENTS)
        first, last, phone, consent = PATIENTS[index]
        rows.append(
            (
                f"HD-{5001 + number}",
                f"P-{1001 + index}",
                first,
                last,
                phone,
                start.astimezone(zone).isoformat(timespec="seconds"),
                "60" if number % 5 == 0 else "30",
                PROVIDERS[number % len(PROVIDERS)],
                status,
                consent,
            )
        )

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def _demo_starts(now: datetime, zone: ZoneInfo) -> list[tuple[datetime, str]]:
    # The 2 h reminders of the first three, and the 24 h reminder of the
    # fourth, fall due 20 to 50 seconds from now.
    soon = [
        (now + timedelta(hours=2, seconds=20), "Confirmed"),
        (now + timedelta(hours=2, seconds=35), "confirmed"),
        (now + timedelta(hours=2, seconds=50), "CONF"),
        (now + timedelta(hours=24, seconds=40), "Confirmed"),
    ]

    today = now.astimezone(zone).date()
    yesterday = [
        (_at(today - timedelta(days=1), hour, zone), status)
        for hour, status in ((9, "Completed"), (11, "Checked Out"), (14, "No Show"))
    ]

    statuses = ("Confirmed", "Confirmed", "Scheduled", "Confirmed", "Unconfirmed")
    ahead = []
    for number in range(26):
        day = today + timedelta(days=2 + number // 6)
        hour, minute = divmod(9 * 60 + (number % 6) * 75, 60)
        status = "Cancelled" if number in (7, 19) else statuses[number % 5]
        ahead.append((_at(day, hour, zone, minute), status))

    return soon + yesterday + ahead


def _at(day: date, hour: int, zone: ZoneInfo, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def _schedule_welcome(desk: "Desk", now: datetime) -> "ScheduledMessage":
    from store.messages import schedule_message
    from store.patients import find_patient_by_external_id

    patient = find_patient_by_external_id(desk.practice, "P-1001")
    return schedule_message(
        desk.practice,
        patient_id=patient.id,
        body=(
            f"Hi {patient.first_name}, {PRACTICE} here. Your new-patient forms "
            "are ready; please bring them to your visit. Reply STOP to opt out."
        ),
        at=now + timedelta(seconds=30),
        actor=ACTOR,
        settings=desk.settings,
        now=now,
    )


def _print_guide(root: Path, result: "ImportResult", message_id: int) -> None:
    folder = shlex.quote(str(root))
    print(f"The demo practice {PRACTICE} is ready in {root}")
    print(
        f"  Appointments: {result.created} added, {result.updated} moved to "
        f"fresh times, {result.unchanged} unchanged; "
        f"{result.patients_created} patients added."
    )
    print(
        "  Within the next minute, three 2 h reminders, one 24 h reminder and "
        f"text {message_id} fall due."
    )
    print("  Nothing is really sent: every text is written to the outbox file.")
    print("Watch them go:")
    print(f"  tail -F {shlex.quote(str(root / 'outbox.jsonl'))}")
    print(f"  frontdesk --home {folder} messages")
    print(f"  frontdesk --home {folder}          (the desk screens)")
    sys.stdout.flush()
