"""`frontdesk init`, --home handling, config errors, --version and --help."""

import stat

import pytest

from tests.cli.conftest import query, run_frontdesk


def test_init_creates_the_database_the_practice_and_a_private_config(cli, home):
    done = cli(
        "init", "--home", home, "--practice", "Harbour Dental",
        "--timezone", "America/New_York", "--region", "us",
    )  # fmt: skip

    assert done.code == 0, done.err
    assert query(home, "select name, timezone, region from practice") == [
        ("Harbour Dental", "America/New_York", "US")
    ]
    config = home / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert 'timezone = "America/New_York"' in config.read_text()
    assert "# quiet_hours" in config.read_text()


def test_init_twice_is_refused_and_changes_nothing(cli, desk_home):
    before = (desk_home / "config.toml").read_text()

    done = cli("--home", desk_home, "init", "--practice", "Other", "--timezone", "UTC")

    assert done.code == 2
    assert "already set up" in done.err
    assert (desk_home / "config.toml").read_text() == before
    assert query(desk_home, "select name from practice") == [("Harbour Dental",)]


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--timezone", "America/New_Yrok", "America/New_Yrok"),
        ("--region", "ZZ", "'ZZ'"),
        ("--practice", "   ", "name"),
    ],
)
def test_a_bad_zone_region_or_name_leaves_nothing_behind(
    cli, home, option, value, named
):
    args = {"--practice": "Harbour Dental", "--timezone": "America/New_York"}
    args[option] = value
    flat = [word for pair in args.items() for word in pair]

    done = cli("--home", home, "init", *flat)

    assert done.code == 2
    assert named in done.err
    assert "Traceback" not in done.err
    assert not (home / "frontdesk.db").exists()
    assert not (home / "config.toml").exists()


def test_home_works_before_or_after_the_command_and_from_the_environment(
    cli, desk_home, monkeypatch
):
    assert cli("--home", desk_home, "messages").code == 0
    assert cli("messages", "--home", desk_home).code == 0

    monkeypatch.setenv("FRONTDESK_HOME", str(desk_home))
    done = cli("messages", "--json")
    assert done.code == 0
    assert done.out.strip() == "[]"


def test_a_missing_home_says_to_run_init(cli, tmp_path):
    done = cli("--home", tmp_path / "nowhere", "messages")

    assert done.code == 2
    assert "frontdesk init" in done.err
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ("[sending]\nmax_attempts = 'abc'\n", "max_attempts"),
        ("[sending]\nquiet_hour = '21:00-08:00'\n", "quiet_hour"),
        ("[sending\n", "not valid TOML"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(cli, desk_home, config, named):
    (desk_home / "config.toml").write_text(config)

    done = cli("--home", desk_home, "status")

    assert done.code == 2
    assert named in done.err
    assert "config.toml" in done.err


def test_version_and_help(cli):
    version = cli("--version")
    assert version.code == 0
    assert version.out.startswith("frontdesk ")

    for command in (
        [], ["init"], ["import", "patients"], ["import", "appointments"],
        ["schedule"], ["messages"], ["cancel"], ["retry"], ["consent"],
        ["sweep"], ["status"], ["daemon"], ["demo"],
    ):  # fmt: skip
        done = cli(*command, "--help")
        assert done.code == 0, command
        assert "--home" in done.out, command


def test_bad_usage_exits_2(cli, desk_home):
    assert cli("--home", desk_home, "cancel", "seven").code == 2
    assert cli("--home", desk_home, "frobnicate").code == 2
    assert cli("--home", desk_home, "messages", "--status", "lost").code == 2


def test_the_module_runs_as_a_program(tmp_path):
    home = tmp_path / "desk"
    made = run_frontdesk(
        "init", "--practice", "Harbour Dental", "--timezone", "Europe/London",
        "--region", "GB", "--home", home,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    again = run_frontdesk(
        "--home", home, "init", "--practice", "X", "--timezone", "UTC"
    )
    assert again.returncode == 2
    assert "already set up" in again.stderr
    assert "Traceback" not in again.stderr

    status = run_frontdesk("status", env={"FRONTDESK_HOME": str(home)})
    assert status.returncode == 1
    assert "never run" in status.stdout


def test_commands_other_than_the_desk_screens_never_import_textual(desk_home, tmp_path):
    script = (
        "import sys\n"
        "from cli.main import main\n"
        f"home = {str(desk_home)!r}\n"
        "for argv in (['status'], ['messages', '--json'], ['--version'],\n"
        "             ['import', 'patients', 'missing.csv'],\n"
        "             ['daemon', '--print-unit'], ['sweep', '--help']):\n"
        "    try:\n"
        "        main(['--home', home, *argv])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    done = run_frontdesk_code(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def run_frontdesk_code(script: str):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from tests.cli.conftest import REPO

    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_desk_screens_refuse_to_start_without_a_terminal(desk_home):
    from tests.cli.conftest import run_frontdesk

    done = run_frontdesk("--home", desk_home)

    assert done.returncode == 2
    assert "need a terminal" in done.stderr
    assert "\x1b[" not in done.stdout + done.stderr
