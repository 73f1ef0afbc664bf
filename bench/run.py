"""Run the benchmarks, print one table, and save it under bench/results/.

    python -m bench [--quick] [--only NAME ...] [--keep]

Each benchmark measures its reference in the same run, so the ratios hold on
a noisy machine even when the absolute figures drift.
"""

import argparse
import logging
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import history, idle, throughput, timeliness, tui
from bench.report import Figure, save, text_table

RESULTS = Path(__file__).resolve().parent / "results"

Bench = Callable[..., tuple[list[Figure], list[str]]]
BENCHES: dict[str, Bench] = {
    "throughput": throughput.run,
    "history": history.run,
    "tui": tui.run,
    "timeliness": timeliness.run,
    "idle": idle.run,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure frontdesk beside references from the same run.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes and shorter windows: a smoke run of a minute or so",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHES),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHES)}",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the homes the benchmarks built, under bench/results/work",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="where to write the JSON and markdown (default: bench/results)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The benchmarks time their own work; log lines would only add noise.
    logging.basicConfig(level=logging.ERROR)
    names = args.only or list(BENCHES)
    workdir = args.results / "work"
    shutil.rmtree(workdir, ignore_errors=True)

    figures: list[Figure] = []
    notes: list[str] = []
    failed = False
    for name in names:
        print(f"running {name}...", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            found, said = BENCHES[name](workdir / name, quick=args.quick)
        except Exception:
            failed = True
            notes.append(f"{name}: FAILED\n{traceback.format_exc()}")
            print(traceback.format_exc(), file=sys.stderr)
            continue
        figures += found
        notes += said
        took = time.monotonic() - started
        print(f"  {name} took {took:.0f} s", file=sys.stderr, flush=True)

    print(text_table(figures))
    print()
    for note in notes:
        print(f"- {note}")
    json_path, md_path = save(figures, notes, args.results, quick=args.quick)
    print(f"\nsaved {json_path} and {md_path}")

    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0
