"""The `frontdesk` command: argument parsing, logging, and exit statuses.

Exit status 0 means success, 1 a failure, and 2 bad usage or bad input. Every
expected problem becomes one message on stderr saying what to do next; only a
bug leaves a traceback, and that goes to the log file, not the terminal.
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from store.errors import (
    ConfigError,
    InvalidInput,
    NotFound,
    SchemaError,
    StoreError,
    WrongState,
)

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

LOG_FILE = "frontdesk.log"
FILE_ONLY = "frontdesk_file_only"
MESSAGE_STATUSES = "pending, sending, sent, failed, cancelled, expired, unknown"


class CliError(Exception):
    """A problem to report in one line and exit with ``status``."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def frontdesk_version() -> str:
    try:
        return version("frontdesk")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; --home works before or after the command."""
    from cli import commands, demo, imports, running

    # The option lives on every parser; SUPPRESS keeps a subcommand without it
    # from overwriting a --home given before the subcommand.
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the folder holding this practice's files (default: "
        "$FRONTDESK_HOME, else your user's data and config folders)",
    )
    common = [home]

    parser = argparse.ArgumentParser(
        prog="frontdesk",
        parents=common,
        description="Appointment reminders and scheduled texts for one practice. "
        "Run with no command to open the desk screens.",
    )
    parser.add_argument(
        "--version", action="version", version=f"frontdesk {frontdesk_version()}"
    )
    parser.set_defaults(handler=running.run_desk)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_init(sub, common)
    imports.add_import(sub, common)
    commands.add_schedule(sub, common)
    commands.add_messages(sub, common)
    commands.add_cancel_retry(sub, common)
    commands.add_consent(sub, common)
    running.add_sweep(sub, common)
    running.add_status(sub, common)
    running.add_daemon(sub, common)
    demo.add_demo(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # --help and --version exit 0; argparse's usage errors exit 2.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE

    logs = CliLogging()
    try:
        return args.handler(args, logs)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CliError as exc:
        return _fail(str(exc), exc.status)
    except (InvalidInput, ConfigError, NotFound) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except WrongState as exc:
        return _fail(str(exc), EXIT_FAILED)
    except SchemaError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except StoreError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except BrokenPipeError:
        # The reader went away (`frontdesk messages | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}.", EXIT_FAILED)
    except Exception as exc:
        log.error(
            "Unexpected error in `frontdesk %s`",
            args.command or "",
            exc_info=True,
            extra={FILE_ONLY: True},
        )
        hint = f" Details are in {logs.path}." if logs.path else ""
        return _fail(
            f"something unexpected went wrong ({type(exc).__name__}: {exc}).{hint}",
            EXIT_FAILED,
        )
    finally:
        _close()
        logs.stop()


def _fail(message: str, status: int) -> int:
    print(f"frontdesk: {message}", file=sys.stderr)
    return status


def _close() -> None:
    from store import wakeups
    from store.db import close_database

    wakeups.set_hook(None)
    close_database()


class CliLogging:
    """WARNING and above to stderr; everything from frontdesk to a log file
    in the home's state folder once the home is known."""

    def __init__(self) -> None:
        self.root = logging.getLogger()
        self.saved = (list(self.root.handlers), self.root.level)
        self.path: Path | None = None

        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(_OneLine())
        stderr.addFilter(lambda record: not getattr(record, FILE_ONLY, False))
        self.root.handlers = [stderr]
        self.stderr = stderr
        self.root.setLevel(logging.DEBUG)
        # SQL text and HTTP request lines carry phone numbers and bodies.
        for noisy in ("peewee", "twilio.http_client", "huey", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    def attach(self, state_dir: Path) -> None:
        """Add the log file, private to the user, if the folder exists."""
        if self.path is not None or not state_dir.is_dir():
            return
        path = state_dir / LOG_FILE
        try:
            os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            return
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        self.root.addHandler(handler)
        self.path = path

    def leave_terminal(self) -> None:
        """Stop writing to stderr: a full-screen app owns the terminal now."""
        self.root.removeHandler(self.stderr)

    def stop(self) -> None:
        for handler in [*self.root.handlers, self.stderr]:
            if handler not in self.saved[0]:
                handler.close()
        self.root.handlers, level = self.saved
        self.root.setLevel(level)


class _OneLine(logging.Formatter):
    """One line per record on the terminal: tracebacks go to the log file."""

    def format(self, record: logging.LogRecord) -> str:
        return f"frontdesk: {record.levelname.lower()}: {record.getMessage()}"


if __name__ == "__main__":
    # Run as `python -m cli.main`: go through the importable module, so the
    # commands and this file share one set of classes.
    from cli.main import main as cli_main

    sys.exit(cli_main())
