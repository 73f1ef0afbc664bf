"""`frontdesk import patients|appointments FILE.csv`: run an import, report it."""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.commands import Parents, Sub, add_actor, connect_queue, default_actor
from cli.commands import open_desk as open_desk_for
from cli.main import EXIT_OK, EXIT_USAGE
from cli.output import ProgressBar

if TYPE_CHECKING:
    from cli.main import CliLogging
    from store.importer import ImportResult


def add_import(sub: Sub, parents: Parents) -> None:
    p = sub.add_parser(
        "import",
        parents=parents,
        help="import patients or appointments from a CSV export",
        description="Import a CSV export. Every row is checked first; if any "
        "row has a problem, each one is listed and nothing is written.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="WHAT", required=True)
    for kind, text in (
        ("patients", "add or update patients, and record SMS consent"),
        ("appointments", "book, move or cancel appointments, adding patients"),
    ):
        k = kinds.add_parser(kind, parents=parents, help=text, description=text + ".")
        k.add_argument("file", metavar="FILE.csv", type=Path)
        k.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and show what would change; write nothing",
        )
        if kind == "appointments":
            k.add_argument(
                "--date-format",
                metavar="FMT",
                help="how the file writes dates and times, as a strptime format "
                "such as '%%m/%%d/%%Y %%I:%%M %%p' (default: 2026-12-14 09:30). "
                "Separate date and time columns are read joined by a space",
            )
        add_actor(k)
        k.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace, logs: "CliLogging") -> int:
    from store.importer import import_appointments, import_patients

    desk = open_desk_for(args, logs)
    if not args.dry_run:
        connect_queue(desk)

    progress = ProgressBar("Importing") if sys.stderr.isatty() else None
    options = {
        "settings": desk.settings,
        "actor": args.actor or default_actor(),
        "dry_run": args.dry_run,
        "progress": progress,
    }
    try:
        if args.kind == "patients":
            result = import_patients(desk.practice, args.file, **options)
        else:
            result = import_appointments(
                desk.practice, args.file, date_format=args.date_format, **options
            )
    except ValueError as exc:  # ImportFileError: the file as a whole
        print(f"frontdesk: {args.file}: {exc}", file=sys.stderr)
        print("Nothing was imported.", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if progress is not None:
            progress.close()

    return report(args.file, result)


def report(path: Path, result: "ImportResult") -> int:
    """Print the outcome: every bad row on stderr, or the counts on stdout."""
    if result.errors:
        rows = len({error.line for error in result.errors})
        print(
            f"frontdesk: {path}: {rows} row{'s' if rows != 1 else ''} "
            "with problems, so nothing was imported:",
            file=sys.stderr,
        )
        for error in result.errors:
            print(f"  {error}", file=sys.stderr)
        print("Fix these rows and import the file again.", file=sys.stderr)
        return EXIT_USAGE

    if result.dry_run:
        print(f"Checked {path} (dry run: nothing was written). It would make:")
    else:
        print(f"Imported {path}:")
    noun = "appointments" if result.kind == "appointments" else "patients"
    print(
        f"  {noun}: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.skipped} skipped (blank rows)"
    )
    if result.kind == "appointments":
        if result.passed:
            print(f"  left out, already over: {result.passed}")
        print(f"  patients added: {result.patients_created}")
    print(f"  SMS consent recorded: {result.consents_granted}")
    if result.ignored_columns:
        print("  columns not used: " + ", ".join(result.ignored_columns))
    for warning in result.warnings:
        print(f"  note, {warning}")
    return EXIT_OK
