"""Guards on the shape of the code: which package may import which."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize(
    "package",
    [
        "store.models",
        "store.messages",
        "store.appointments",
        "store.consent",
        "store.importer",
    ],
)
def test_the_store_imports_neither_huey_nor_textual_nor_the_daemon(package):
    loaded = top_level(imported_after(f"import {package}"))

    assert not loaded & {"textual", "huey", "daemon", "tui", "twilio", "cli"}


@pytest.mark.parametrize(
    "package", ["daemon.service", "daemon.pipeline", "daemon.gateways"]
)
def test_the_daemon_never_imports_textual_or_the_tui(package):
    loaded = top_level(imported_after(f"import {package}"))

    assert not loaded & {"textual", "tui", "cli"}


def test_no_store_or_daemon_module_names_a_higher_layer():
    offenders = []
    for path in (REPO / "store").rglob("*.py"):
        text = path.read_text()
        for word in (
            "import daemon",
            "from daemon",
            "import tui",
            "from tui",
            "import huey",
            "from huey",
            "import textual",
            "from textual",
        ):
            if word in text:
                offenders.append(f"{path.relative_to(REPO)}: {word}")
    for path in (REPO / "daemon").rglob("*.py"):
        text = path.read_text()
        for word in ("import tui", "from tui", "import textual", "from textual"):
            if word in text:
                offenders.append(f"{path.relative_to(REPO)}: {word}")

    assert offenders == []
