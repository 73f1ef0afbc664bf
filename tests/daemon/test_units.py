"""Tests for the systemd units: rendering, systemd's own checks, the repo copies."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from daemon import units
from daemon.units import default_exec_path, render_unit

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER_EXEC = "/opt/frontdesk/venv/bin/frontdesk"
REPO_UNITS = {
    "user": REPO / "systemd" / "frontdesk-daemon.service",
    "system": REPO / "systemd" / "frontdesk-daemon-system.service",
}

# systemd-analyze security scores exposure from 0 to 10 and --threshold takes
# tenths. The system unit scores 1.2: what is left is the network that Twilio
# needs, the AF_UNIX socket for the journal, the host root and group-writable
# files for the shared database. 1.5 leaves room for a small, deliberate
# change and fails as soon as a protection such as ProtectSystem= (0.2) plus
# another one go missing.
SYSTEM_THRESHOLD = 15
# Offline, a user unit is scored as if it ran as root without namespaces, so
# 6.3 is its floor with every seccomp setting in place; a bare unit scores
# 9.8. 6.5 fails if the system-call filter or the address families go.
USER_THRESHOLD = 65

PARSE_COMPLAINTS = ("unknown", "ignoring", "failed to parse", "invalid")


@pytest.fixture
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed")
    return path


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """An executable frontdesk stand-in, in a folder whose name needs quoting."""
    folder = tmp_path / "front desk 100% $HOME"
    folder.mkdir()
    script = folder / "frontdesk"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    # The user manager's paths need a runtime directory, even offline.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}


def write_unit(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def run(args: list[str], env: dict[str, str] | None = None):
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)


def assert_verified(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    complaints = [
        line
        for line in result.stderr.splitlines()
        if any(word in line.lower() for word in PARSE_COMPLAINTS)
    ]
    assert complaints == []


@pytest.mark.parametrize("kind", ["user", "system"])
def test_repo_units_are_renders_of_the_templates(kind: str) -> None:
    rendered = render_unit(kind, PLACEHOLDER_EXEC, None)

    assert REPO_UNITS[kind].read_text() == rendered, (
        f"{REPO_UNITS[kind].name} differs from daemon/units/; edit the template "
        "and regenerate with render_unit(kind, "
        f"{PLACEHOLDER_EXEC!r}, None)"
    )


def test_templates_ship_as_package_data() -> None:
    folder = resources.files("daemon") / "units"
    shipped = {entry.name for entry in folder.iterdir()}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())

    assert set(units.TEMPLATES.values()) <= shipped
    assert "units/*.in" in pyproject["tool"]["setuptools"]["package-data"]["daemon"]


def test_system_unit_passes_verify(analyze: str, program: Path, tmp_path: Path):
    unit = write_unit(
        tmp_path,
        "frontdesk-daemon.service",
        render_unit("system", [str(program)], None),
    )

    result = run([analyze, "verify", "--recursive-errors=yes", "--man=no", str(unit)])

    assert_verified(result)


def test_system_unit_with_own_home_passes_verify(
    analyze: str, program: Path, tmp_path: Path
):
    home = Path("/srv/front desk/50% ${USER}")
    text = render_unit("system", [str(program)], home)
    unit = write_unit(tmp_path, "frontdesk-daemon.service", text)

    result = run([analyze, "verify", "--recursive-errors=yes", "--man=no", str(unit)])

    assert_verified(result)
    assert 'ReadWritePaths="/srv/front desk/50%% ${USER}"' in text
    assert "StateDirectory=" not in text


def test_user_unit_passes_verify(
    analyze: str, program: Path, tmp_path: Path, user_env: dict[str, str]
):
    text = render_unit("user", [str(program)], tmp_path / "practice home")
    unit = write_unit(tmp_path, "frontdesk-daemon.service", text)

    result = run(
        [analyze, "--user", "verify", "--recursive-errors=yes", "--man=no", str(unit)],
        env=user_env,
    )

    assert_verified(result)


def test_verify_catches_a_misspelt_key(analyze: str, program: Path, tmp_path: Path):
    # Proves the verify tests above would notice a broken template.
    text = render_unit("system", [str(program)], None)
    text = text.replace("KillSignal=", "KillSignl=")
    unit = write_unit(tmp_path, "frontdesk-daemon.service", text)

    result = run([analyze, "verify", "--recursive-errors=yes", "--man=no", str(unit)])

    assert result.returncode != 0
    assert "KillSignl" in result.stderr


def test_system_unit_exposure_is_low(analyze: str, tmp_path: Path):
    text = render_unit("system", PLACEHOLDER_EXEC, None)
    unit = write_unit(tmp_path, "frontdesk-daemon.service", text)

    result = run(
        [
            analyze,
            "security",
            "--offline=true",
            f"--threshold={SYSTEM_THRESHOLD}",
            str(unit),
        ]
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_user_unit_keeps_its_seccomp_hardening(
    analyze: str, tmp_path: Path, user_env: dict[str, str]
):
    text = render_unit("user", PLACEHOLDER_EXEC, None)
    unit = write_unit(tmp_path, "frontdesk-daemon.service", text)

    result = run(
        [
            analyze,
            "--user",
            "security",
            "--offline=true",
            f"--threshold={USER_THRESHOLD}",
            str(unit),
        ],
        env=user_env,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_user_unit_passes_home_quoted_for_systemd() -> None:
    text = render_unit("user", "/opt/frontdesk/bin/frontdesk", Path("/srv/a b/%d $X"))

    assert (
        'ExecStart=/opt/frontdesk/bin/frontdesk daemon --home "/srv/a b/%%d $$X"'
    ) in text.splitlines()


def test_program_path_with_spaces_is_one_word(program: Path) -> None:
    text = render_unit("user", str(program), None)

    # The program's path is not subject to $ expansion; only % is doubled.
    quoted = str(program).replace("%", "%%")
    assert f'ExecStart="{quoted}" daemon' in text.splitlines()


def test_user_unit_without_home_leaves_it_to_platformdirs() -> None:
    text = render_unit("user", PLACEHOLDER_EXEC, None)

    assert f"ExecStart={PLACEHOLDER_EXEC} daemon" in text.splitlines()
    assert re.search(r"@[A-Z_]+@", text) is None


@pytest.mark.parametrize(
    ("kind", "exec_path", "home", "expected"),
    [
        ("user", "frontdesk", None, "absolute path"),
        ("user", "venv/bin/frontdesk", None, "absolute path"),
        ("system", "/home/ann/venv/bin/frontdesk", None, "ProtectHome"),
        ("system", PLACEHOLDER_EXEC, Path("/home/ann/frontdesk"), "ProtectHome"),
        ("system", PLACEHOLDER_EXEC, Path("/root"), "ProtectHome"),
        ("user", '/opt/front"desk/frontdesk', None, "quotes"),
    ],
)
def test_unit_refuses_what_systemd_cannot_run(
    kind: str, exec_path: str, home: Path | None, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        render_unit(kind, [exec_path], home)


def test_default_exec_path_prefers_the_console_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "venv dir" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.touch()
    monkeypatch.setattr(sys, "executable", str(python))

    without_script = default_exec_path()
    (bin_dir / "frontdesk").touch()
    with_script = default_exec_path()

    assert without_script == f"'{python}' -m cli.main"
    assert with_script == f"'{bin_dir / 'frontdesk'}'"
    assert f'ExecStart="{bin_dir / "frontdesk"}" daemon' in render_unit(
        "user", with_script, None
    )


MDWE_FILTER = textwrap.dedent(
    """
    import ctypes, mmap, struct

    # seccomp filter equal to systemd's MemoryDenyWriteExecute= on x86_64:
    # refuse mmap with PROT_WRITE|PROT_EXEC, and mprotect/pkey_mprotect with
    # PROT_EXEC, with EPERM.
    def op(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)

    LD, JEQ, JSET, AND, RET = 0x20, 0x15, 0x45, 0x54, 0x06
    ALLOW, EPERM, WX = 0x7FFF0000, 0x00050001, 0x6
    program = [
        op(LD, 0, 0, 4), op(JEQ, 1, 0, 0xC000003E), op(RET, 0, 0, 0),
        op(LD, 0, 0, 0), op(JEQ, 0, 5, 9),
        op(LD, 0, 0, 32), op(AND, 0, 0, WX), op(JEQ, 0, 1, WX),
        op(RET, 0, 0, EPERM), op(RET, 0, 0, ALLOW),
        op(JEQ, 1, 0, 10), op(JEQ, 0, 3, 329),
        op(LD, 0, 0, 32), op(JSET, 0, 1, 0x4), op(RET, 0, 0, EPERM),
        op(RET, 0, 0, ALLOW),
    ]
    code = ctypes.create_string_buffer(b"".join(program))

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    fprog = Program(len(program), ctypes.cast(code, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
        raise SystemExit(77)
    try:
        mmap.mmap(-1, 4096, prot=7)
    except PermissionError:
        pass
    else:
        raise SystemExit("the filter is not active")
    """
)

DAEMON_WORKLOAD = textwrap.dedent(
    """
    import ctypes, os, sqlite3, ssl, sys, tempfile
    import huey, peewee, twilio.rest
    from twilio.http.http_client import TwilioHttpClient

    ssl.create_default_context()
    folder = tempfile.mkdtemp()
    db = sqlite3.connect(os.path.join(folder, "frontdesk.db"))
    db.execute("pragma journal_mode=wal")
    db.execute("create table t (x)")
    db.commit()

    queue = huey.SqliteHuey(filename=os.path.join(folder, "queue.db"))

    @queue.task()
    def add(a, b):
        return a + b

    result = add(1, 2)
    queue.execute(queue.dequeue())
    assert result.get() == 3

    twilio.rest.Client("AC0", "token", http_client=TwilioHttpClient(timeout=5))
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda v: v + 1)
    assert callback(1) == 2
    print("ok")
    """
)


@pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64",
    reason="the seccomp filter is written for Linux on x86_64",
)
def test_daemon_libraries_run_under_memory_deny_write_execute(tmp_path: Path):
    # Both units set MemoryDenyWriteExecute=yes; a library that needs W+X
    # memory (a JIT, old libffi closures) would crash the daemon at start.
    script = tmp_path / "mdwe.py"
    script.write_text(MDWE_FILTER + DAEMON_WORKLOAD)

    result = run([sys.executable, str(script)])

    if result.returncode == 77:
        pytest.skip("seccomp filters are not allowed here")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
