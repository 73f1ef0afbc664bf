"""Where the install's files live: --home, FRONTDESK_HOME, or the XDG folders."""

import stat
from pathlib import Path

import pytest

from store.home import Home, resolve_home


def test_explicit_home_holds_every_file(tmp_path: Path) -> None:
    home = resolve_home(tmp_path / "clinic")

    assert home.root == tmp_path / "clinic"
    assert home.data_dir == home.config_dir == home.state_dir == home.root
    assert home.database == tmp_path / "clinic" / "frontdesk.db"
    assert home.queue == tmp_path / "clinic" / "queue.db"
    assert home.outbox == tmp_path / "clinic" / "outbox.jsonl"
    assert home.config == tmp_path / "clinic" / "config.toml"


def test_explicit_home_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path / "from-env"))

    assert resolve_home(str(tmp_path / "given")).root == tmp_path / "given"


def test_environment_home_is_used_without_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path / "from-env"))

    home = resolve_home()

    assert home.root == tmp_path / "from-env"
    assert home.database == tmp_path / "from-env" / "frontdesk.db"


def test_empty_values_count_as_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_HOME", "")

    assert resolve_home("").root is None


def test_relative_and_tilde_paths_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))

    assert resolve_home("clinic").root == tmp_path / "clinic"
    assert resolve_home("~/clinic").root == tmp_path / "user" / "clinic"


def test_platform_folders_follow_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    home = resolve_home()

    assert home.root is None
    assert home.database == tmp_path / "data" / "frontdesk" / "frontdesk.db"
    assert home.queue == tmp_path / "data" / "frontdesk" / "queue.db"
    assert home.outbox == tmp_path / "data" / "frontdesk" / "outbox.jsonl"
    assert home.config == tmp_path / "config" / "frontdesk" / "config.toml"
    assert home.state_dir == tmp_path / "state" / "frontdesk"


def test_platform_folders_fall_back_to_the_user_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    home = resolve_home()

    assert home.data_dir == tmp_path / ".local" / "share" / "frontdesk"
    assert home.config_dir == tmp_path / ".config" / "frontdesk"
    assert home.state_dir == tmp_path / ".local" / "state" / "frontdesk"


def test_resolving_creates_nothing(tmp_path: Path) -> None:
    resolve_home(tmp_path / "clinic")

    assert not (tmp_path / "clinic").exists()


def test_ensure_creates_private_folders(tmp_path: Path) -> None:
    home = Home(
        root=None,
        data_dir=tmp_path / "a" / "data",
        config_dir=tmp_path / "b" / "config",
        state_dir=tmp_path / "c" / "state",
    )

    assert home.ensure() is home

    for folder in (home.data_dir, home.config_dir, home.state_dir):
        assert folder.is_dir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_ensure_is_repeatable_and_keeps_an_existing_folders_mode(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o770)
    shared.chmod(0o770)
    home = resolve_home(shared)

    home.ensure()
    home.ensure()

    assert stat.S_IMODE(shared.stat().st_mode) == 0o770


def test_credentials_directory_is_used_when_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))

    assert resolve_home(tmp_path / "clinic").credentials_dir == creds
    assert resolve_home().credentials_dir == creds


def test_missing_credentials_directory_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_home().credentials_dir is None

    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "gone"))

    assert resolve_home().credentials_dir is None


def test_home_is_frozen(tmp_path: Path) -> None:
    home = resolve_home(tmp_path)

    with pytest.raises(AttributeError):
        home.root = None  # type: ignore[misc]
