"""The commands that set up a practice and work its queue: init, schedule,
messages, cancel, retry and consent."""

import argparse
import getpass
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.main import EXIT_OK, MESSAGE_STATUSES, CliError
from cli.output import (
    MESSAGE_HEADERS,
    local_time,
    message_record,
    message_row,
    print_json,
    print_table,
)
from store.errors import InvalidInput
from store.home import Home, resolve_home
from store.models import MessageKind, MessageStatus, Practice, utcnow

if TYPE_CHECKING:
    from cli.main import CliLogging
    from daemon.context import Desk

Sub = Any  # argparse's _SubParsersAction
Parents = list[argparse.ArgumentParser]


def default_actor() -> str:
    """Who the audit trail names for a command: the login running it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "command line"


def record_id(text: str) -> int:
    """An id as argparse reads it: a whole number SQLite can hold, so a huge
    one is a usage error rather than a crash in the database driver."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text} is not an id (ids start at 1)")
    return value


def add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--actor",
        metavar="NAME",
        help="who to name in the audit trail (default: your login name)",
    )


def home_of(args: argparse.Namespace) -> Home:
    return resolve_home(getattr(args, "home", None))


def open_desk(args: argparse.Namespace, logs: "CliLogging") -> "Desk":
    """Open the home named on the command line, and start its log file."""
    from daemon.context import open_desk as open_home

    desk = open_home(home_of(args))
    logs.attach(desk.home.state_dir)
    return desk


def connect_queue(desk: "Desk") -> None:
    """Route wake-ups to the daemon's queue, so a change is acted on at once
    rather than at the next minute's sweep."""
    from daemon.queue import connect_queue as connect

    connect(desk.home)


# frontdesk init


def add_init(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "init",
        parents=parents,
        help="set up a new practice in a home folder",
        description="Create the home folder, the database, the practice and a "
        "commented config.toml.",
    )
    p.add_argument("--practice", required=True, metavar="NAME")
    p.add_argument(
        "--timezone",
        required=True,
        metavar="ZONE",
        help="IANA time zone, such as America/New_York",
    )
    p.add_argument(
        "--region",
        default="US",
        metavar="CC",
        help="two-letter phone region for numbers typed without + (default: US)",
    )
    p.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace, logs: "CliLogging") -> int:
    home = home_of(args)
    practice = init_home(home, args.practice, args.timezone, args.region)
    logs.attach(home.state_dir)

    flag = f" --home {home.root}" if home.root else ""
    print(
        f"Set up {practice.name} ({practice.timezone}, phone region {practice.region})."
    )
    print(f"  database: {home.database}")
    print(f"  settings: {home.config}")
    print("Next:")
    print(f"  frontdesk{flag} import patients FILE.csv")
    print(f"  frontdesk{flag} daemon --print-unit   (to run the sender under systemd)")
    return EXIT_OK


def init_home(
    home: Home, name: str, timezone: str, region: str, config_text: str | None = None
) -> Practice:
    """Create the database, the practice and config.toml, or nothing at all.

    Raises CliError when the home is already set up, InvalidInput or
    ConfigError for a bad name, zone or region.
    """
    from store.db import close_database, open_database
    from store.practices import check_region, check_timezone, create_practice
    from store.settings import render_config_template

    if home.database.exists() or home.config.exists():
        where = home.root or home.data_dir
        raise CliError(
            f"{where} is already set up (found "
            f"{home.database if home.database.exists() else home.config}). "
            "Nothing was changed; use another --home for a new practice."
        )

    # Everything that can be refused is checked before anything is written.
    check_timezone(timezone)
    region = check_region(region)
    text = config_text or render_config_template(name, timezone, region)
    if not " ".join(name.split()):
        raise InvalidInput("The practice needs a name.", field="name")

    home.ensure()
    try:
        open_database(home.database)
        practice = create_practice(name, timezone, region)
        _write_private(home.config, text)
    except BaseException:
        close_database()
        for leftover in _database_files(home.database):
            leftover.unlink(missing_ok=True)
        raise
    return practice


def _database_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))]


def _write_private(path: Path, text: str) -> None:
    # O_EXCL: never overwrite a config.toml someone has already edited.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# frontdesk schedule


def add_schedule(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "schedule",
        parents=parents,
        help="queue a text to a patient",
        description="Queue a text to a patient who has agreed to texts.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", metavar="PHONE", help="the patient's mobile number")
    who.add_argument("--patient", type=record_id, metavar="ID", help="the patient's id")
    p.add_argument(
        "--at",
        required=True,
        metavar="WHEN",
        help="practice time like '2026-12-14 09:30', a time with an offset like "
        "2026-12-14T14:30:00Z, 'now', or '+15m' from now",
    )
    p.add_argument("--body", required=True, metavar="TEXT")
    add_actor(p)
    p.set_defaults(handler=run_schedule)


def run_schedule(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.messages import schedule_message
    from store.patients import patients_with_phone
    from store.phones import format_phone
    from store.sms import non_gsm_characters, sms_segments

    desk = open_desk(args, logs)
    practice = desk.practice
    at = parse_when(args.at, practice)

    patient_id = args.patient
    if args.to is not None:
        found = patients_with_phone(practice, args.to)
        shown = format_phone(found[0].phone if found else args.to, practice.region)
        if not found:
            raise CliError(
                f"no patient has the number {shown}. Add the patient and record "
                "their SMS consent first, then schedule the text."
            )
        if len(found) > 1:
            names = ", ".join(f"{p.full_name} (--patient {p.id})" for p in found)
            raise CliError(
                f"{shown} belongs to {len(found)} patients: {names}. Say which "
                "one with --patient ID."
            )
        patient_id = found[0].id

    connect_queue(desk)
    message = schedule_message(
        practice,
        patient_id=patient_id,
        body=args.body,
        at=at,
        actor=args.actor or default_actor(),
        settings=desk.settings,
    )

    print(
        f"Scheduled message {message.id} to {message.patient.full_name}: "
        f"goes {local_time(practice, message.due_at)}."
    )
    if message.due_at > message.scheduled_for:
        print("  It waits for quiet hours to end.")
    info = sms_segments(args.body)
    if info.segments > 1:
        odd = "".join(non_gsm_characters(args.body))
        why = f" ({info.encoding}, because of {odd!r})" if odd else ""
        print(f"  It is {info.segments} SMS segments{why}; each is billed.")
    return EXIT_OK


def parse_when(text: str, practice: Practice) -> datetime:
    """Read --at: practice time, an ISO time with an offset, now, or +span."""
    from store.durations import parse_duration
    from store.import_cells import practice_time_to_utc

    value = text.strip()
    if value.lower() == "now":
        return utcnow()
    if value.startswith("+"):
        try:
            return utcnow() + parse_duration(value[1:])
        except ValueError as exc:
            raise InvalidInput(f"--at {text!r}: {exc}.", field="at") from None
        except OverflowError:
            raise InvalidInput(
                f"--at {text!r} is further ahead than any calendar date.", field="at"
            ) from None

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) <= 10:
        raise InvalidInput(
            f"--at {text!r} is not a date and time; write practice time like "
            "'2026-12-14 09:30', or a time with an offset like "
            "2026-12-14T14:30:00Z.",
            field="at",
        )
    return practice_time_to_utc(parsed, practice.zone)


# frontdesk messages


def add_messages(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "messages",
        parents=parents,
        help="list the queue of texts",
        description="List texts by scheduled time, in practice time.",
    )
    p.add_argument(
        "--status", metavar="S", help=f"only these (comma list): {MESSAGE_STATUSES}"
    )
    p.add_argument("--kind", choices=[str(k) for k in MessageKind])
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument(
        "--limit", type=int, default=200, metavar="N", help="at most N (default 200)"
    )
    p.set_defaults(handler=run_messages)


def run_messages(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.messages import MessageFilter, list_messages

    if args.status:
        for word in args.status.split(","):
            if word not in {str(s) for s in MessageStatus}:
                raise CliError(
                    f"--status {word!r} is not a message status; use one of "
                    f"{MESSAGE_STATUSES}."
                )
    if args.limit < 1:
        raise CliError("--limit must be 1 or more.")

    desk = open_desk(args, logs)
    filters = MessageFilter(status=args.status, kind=args.kind)
    messages = list_messages(desk.practice, filters, limit=args.limit)

    if args.json:
        print_json([message_record(m) for m in messages])
    elif not messages:
        print("No messages.")
    else:
        rows = [message_row(desk.practice, m) for m in messages]
        print_table(MESSAGE_HEADERS, rows)
    return EXIT_OK


# frontdesk cancel / retry


def add_cancel_retry(sub: Sub, parents: Parents) -> None:
    for name, text in (
        ("cancel", "cancel a pending text so it is never sent"),
        ("retry", "send a failed text, or one with an unknown outcome, again"),
    ):
        p = sub.add_parser(name, parents=parents, help=text, description=text + ".")
        p.add_argument("id", type=record_id, metavar="ID", help="the message id")
        add_actor(p)
        p.set_defaults(handler=run_cancel if name == "cancel" else run_retry)


def run_cancel(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.messages import cancel_message

    desk = open_desk(args, logs)
    connect_queue(desk)
    message = cancel_message(
        desk.practice, args.id, actor=args.actor or default_actor()
    )
    print(f"Cancelled message {message.id}; it will not be sent.")
    return EXIT_OK


def run_retry(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.messages import retry_message

    desk = open_desk(args, logs)
    connect_queue(desk)
    message = retry_message(
        desk.practice,
        args.id,
        actor=args.actor or default_actor(),
        settings=desk.settings,
    )
    print(
        f"Message {message.id} is back in the queue; it goes "
        f"{local_time(desk.practice, message.due_at)}."
    )
    return EXIT_OK


# frontdesk consent


def add_consent(sub: Sub, parents: Parents) -> None:
    from store.models import ConsentSource

    p = sub.add_parser(
        "consent",
        parents=parents,
        help="record that a patient agreed to texts, or withdrew",
        description="Record SMS consent. Granting brings back the patient's "
        "reminders still ahead; revoking cancels every pending text to them.",
    )
    p.add_argument("action", choices=["grant", "revoke"])
    p.add_argument(
        "patient", type=record_id, metavar="PATIENT", help="the patient's id"
    )
    p.add_argument(
        "--source",
        required=True,
        metavar="S",
        help="how it was given: " + ", ".join(s.value for s in ConsentSource),
    )
    p.add_argument("--note", default="", metavar="N")
    add_actor(p)
    p.set_defaults(handler=run_consent)


def run_consent(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.consent import grant_consent, parse_source, revoke_consent
    from store.messages import MessageFilter, count_messages

    source = parse_source(args.source)
    desk = open_desk(args, logs)
    connect_queue(desk)
    record_consent = grant_consent if args.action == "grant" else revoke_consent
    record = record_consent(
        desk.practice,
        args.patient,
        source=source,
        actor=args.actor or default_actor(),
        settings=desk.settings,
        note=args.note,
    )

    name = record.patient.full_name
    pending = count_messages(
        desk.practice, MessageFilter(status="pending", patient_id=args.patient)
    )
    said = "agreed to texts" if record.granted else "withdrew SMS consent"
    print(f"Recorded: {name} (patient {args.patient}) {said} ({source}).")
    print(f"  Pending texts to them now: {pending}.")
    return EXIT_OK
