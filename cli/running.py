"""The commands that run or watch the sender, and the desk screens: sweep,
status, daemon, and frontdesk with no command."""

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from cli.commands import Parents, Sub, home_of, open_desk
from cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from cli.output import age, print_json, utc_z
from store.models import utcnow

if TYPE_CHECKING:
    from cli.main import CliLogging


# frontdesk sweep / status


def add_sweep(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "sweep",
        parents=parents,
        help="send whatever is due now, once, in this process",
        description="Run one sweep of the queue now and print what it did. "
        "Refused while the daemon runs: it sends what is due itself.",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_sweep)


def run_sweep(args: argparse.Namespace, logs: "CliLogging") -> int:
    from daemon.service import sweep_once

    desk = open_desk(args, logs)
    summary = sweep_once(desk)
    if args.json:
        print_json(summary.as_dict())
    else:
        print(f"Sweep done: {summary}")
    return EXIT_OK


def add_status(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "status",
        parents=parents,
        help="is the daemon sending? what is in the queue?",
        description="Show the daemon's health and the queue. Exits 1 when the "
        "daemon has not swept for over 2 minutes, or never has.",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.health import read_health
    from store.messages import count_by_status

    desk = open_desk(args, logs)
    practice = desk.practice
    health = read_health(practice)
    counts = count_by_status(practice)
    now = utcnow()
    stale = health.is_stale(now)
    sweep_age = health.sweep_age(now)

    if args.json:
        print_json(
            {
                "practice": {
                    "id": practice.id,
                    "name": practice.name,
                    "timezone": practice.timezone,
                },
                "daemon": {
                    "ok": not stale,
                    "last_sweep_at": utc_z(health.last_sweep_at),
                    "sweep_age_seconds": (
                        None if sweep_age is None else int(sweep_age.total_seconds())
                    ),
                    "started_at": utc_z(health.started_at),
                    "version": health.version or None,
                    "gateway": health.gateway or None,
                    "error": health.error or None,
                    "summary": health.summary,
                },
                "queue": counts,
            }
        )
        return EXIT_FAILED if stale or health.error else EXIT_OK

    print(f"Practice: {practice.name} ({practice.timezone})")
    if sweep_age is None:
        print(
            "Daemon:   has never run. Start it with `frontdesk daemon`, or "
            "see `frontdesk daemon --print-unit`."
        )
    else:
        state = "NOT RUNNING?" if stale else "running"
        print(
            f"Daemon:   {state}, last sweep {age(sweep_age)} ago "
            f"(version {health.version or '?'}, gateway {health.gateway or '?'})"
        )
    if health.error:
        print(f"Problem:  {health.error}")
    shown = ", ".join(f"{status} {count}" for status, count in counts.items())
    print(f"Queue:    {shown}")
    if stale and sweep_age is not None:
        print(
            "The daemon has not swept for over 2 minutes: check "
            "`systemctl --user status frontdesk-daemon` and its journal.",
            file=sys.stderr,
        )
    # A paused gateway (refused credentials) is as much a failure to send as
    # a stopped daemon: monitoring must see it.
    return EXIT_FAILED if stale or health.error else EXIT_OK


# frontdesk daemon


def add_daemon(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "daemon",
        parents=parents,
        help="run the sender in the foreground, or print its systemd unit",
        description="Send reminders and scheduled texts until stopped. Logs go "
        "to stderr (the journal under systemd).",
    )
    p.add_argument(
        "--print-unit",
        action="store_true",
        help="print a systemd unit that runs this command, and exit",
    )
    p.add_argument(
        "--system",
        action="store_true",
        help="with --print-unit: a system service, not a user service",
    )
    p.set_defaults(handler=run_daemon_command)


def run_daemon_command(args: argparse.Namespace, logs: "CliLogging") -> int:
    if args.system and not args.print_unit:
        raise CliError("--system goes with --print-unit.")
    if args.print_unit:
        from daemon.units import default_exec_path, render_unit

        home = home_of(args)
        try:
            text = render_unit(
                "system" if args.system else "user", default_exec_path(), home.root
            )
        except ValueError as exc:
            raise CliError(f"cannot write the unit: {exc}.") from None
        sys.stdout.write(text)
        return EXIT_OK

    from daemon.service import configure_logging, run_daemon

    desk = open_desk(args, logs)
    configure_logging()
    # The consumer's start and stop lines belong in the journal.
    logging.getLogger("huey").setLevel(logging.NOTSET)
    return int(run_daemon(desk) or 0)


# frontdesk (no command): the desk screens


def run_desk(args: argparse.Namespace, logs: "CliLogging") -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Without a terminal the screens can take no keys and would spin.
        raise CliError(
            "the desk screens need a terminal. Run `frontdesk` in one, or see "
            "`frontdesk --help` for the commands.",
            EXIT_USAGE,
        )
    desk = open_desk(args, logs)
    try:
        from tui.app import run_app
    except ModuleNotFoundError as exc:
        if exc.name not in ("tui.app", "textual"):
            raise
        raise CliError(
            "the desk screens are not part of this install yet. The commands "
            "work: see `frontdesk --help`.",
            EXIT_FAILED,
        ) from None
    logs.leave_terminal()
    result = run_app(desk)
    return result if isinstance(result, int) else EXIT_OK
