"""Fixtures every test folder shares: a fresh home, and a store bound to it."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store import wakeups
from store.db import close_database, database, open_database
from store.practices import create_practice


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """Keep every test off the real home, real credentials and real proxies."""
    for name in (
        "FRONTDESK_HOME",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_REGION",
        "TWILIO_EDGE",
        "CREDENTIALS_DIRECTORY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    yield
    wakeups.set_hook(None)


@pytest.fixture
def home_dir(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def db(home_dir: Path) -> Iterator[Path]:
    """A real SQLite file, migrated to the current schema."""
    path = home_dir / "frontdesk.db"
    open_database(path)
    yield path
    close_database()
    database.initialize(None)


@pytest.fixture
def practice(db: Path):  # type: ignore[no-untyped-def]
    return create_practice("Harbour Dental", "America/New_York", "US")


@pytest.fixture
def other_practice(db: Path):  # type: ignore[no-untyped-def]
    return create_practice("Elm Street Clinic", "Europe/London", "GB")


@pytest.fixture
def now() -> datetime:
    """A fixed Wednesday morning in New York (14:00 UTC is 09:00 EST)."""
    return datetime(2026, 12, 9, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quiet_loggers() -> None:
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
