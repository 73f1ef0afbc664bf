"""The house style, checked like any other behaviour: ruff and mypy pass."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True
    )


def need(module: str) -> None:
    if shutil.which(module) is None and run_tool(module, "--version").returncode:
        pytest.skip(f"{module} is not installed")


def test_ruff_finds_nothing():
    need("ruff")

    result = run_tool("ruff", "check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_ruff_formatted():
    need("ruff")

    result = run_tool("ruff", "format", "--check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_the_store_and_the_daemon():
    need("mypy")

    result = run_tool("mypy", "store", "daemon")

    assert result.returncode == 0, result.stdout + result.stderr
