"""The figures a benchmark reports, the table they print as, and the files
they are saved to."""

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Figure:
    """One measured figure beside its reference from the same run.

    ``ratio`` is figure / reference; ``ok`` is None when the figure has no
    target of its own and is shown for context.
    """

    bench: str
    name: str
    value: float
    unit: str
    reference: float | None = None
    reference_label: str = ""
    target: str = ""
    ok: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.value / self.reference

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "info"
        return "ok" if self.ok else "MISS"


def number(value: float, unit: str) -> str:
    """A value with its unit, to a sensible precision."""
    if unit == "%":
        return f"{value:.2f} %"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def rows(figures: list[Figure]) -> list[list[str]]:
    table = []
    for f in figures:
        reference = ""
        if f.reference is not None:
            reference = number(f.reference, f.unit)
            if f.reference_label:
                reference += f" ({f.reference_label})"
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else ""
        table.append(
            [f"{f.bench}: {f.name}", number(f.value, f.unit), reference, ratio]
            + [f.target, f.verdict]
        )
    return table


HEADINGS = ["name", "figure", "reference (same run)", "ratio", "target", "verdict"]


def text_table(figures: list[Figure]) -> str:
    """The figures as a plain-text table for the terminal."""
    body = rows(figures)
    widths = [
        max(len(line[i]) for line in [HEADINGS, *body]) for i in range(len(HEADINGS))
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))

    out = [line(HEADINGS), line(["-" * w for w in widths])]
    out += [line(cells) for cells in body]
    return "\n".join(out)


def markdown_table(figures: list[Figure]) -> str:
    out = ["| " + " | ".join(HEADINGS) + " |", "|" + "---|" * len(HEADINGS)]
    for cells in rows(figures):
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def machine() -> dict[str, str]:
    """What the figures were measured on; they mean little without it."""
    model = ""
    try:
        lscpu = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout
        for text in lscpu.splitlines():
            if text.startswith("Model name"):
                model = text.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "cpu_model": model,
    }


def save(
    figures: list[Figure], notes: list[str], folder: Path, *, quick: bool
) -> tuple[Path, Path]:
    """Write the run as JSON and as markdown; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC)
    stamp = when.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if quick else "")
    host = machine()
    data = {
        "measured_at": when.isoformat(timespec="seconds"),
        "quick": quick,
        "machine": host,
        "figures": [
            {**asdict(f), "ratio": f.ratio, "verdict": f.verdict} for f in figures
        ],
        "notes": notes,
    }
    json_path = folder / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")

    described = (
        f"{host['cpus']} CPUs, {host['arch']}, {host['cpu_model']}, "
        f"Python {host['python']}"
    )
    text = [
        f"# frontdesk benchmarks, {when:%Y-%m-%d %H:%M} UTC"
        + (" (quick)" if quick else ""),
        "",
        f"Machine: {described}.",
        "",
        markdown_table(figures),
        "",
        *[f"- {note}" for note in notes],
        "",
    ]
    md_path = folder / f"bench-{stamp}.md"
    md_path.write_text("\n".join(text))
    return json_path, md_path
