"""Fixtures for daemon tests: a fake Twilio on 127.0.0.1, and a home that
sends to it."""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.fake_twilio import FakeTwilio

if TYPE_CHECKING:
    from store.settings import Settings


@pytest.fixture
def fake_twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    """A running FakeTwilio, reachable without proxies or region rewrites."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    with FakeTwilio(slow_seconds=5.0) as fake:
        yield fake


@pytest.fixture
def twilio_settings(
    fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> "Settings":
    """Default settings, sending through the real twilio client to the fake."""
    from dataclasses import replace
    from datetime import timedelta

    from store.settings import Settings
    from tests.fakes.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEFAULT_AUTH_TOKEN)
    settings = Settings.default()
    return replace(
        settings,
        sms=replace(
            settings.sms,
            backend="twilio",
            from_number="+15005550006",
            api_base=fake_twilio.base_url,
        ),
        sending=replace(settings.sending, timeout=timedelta(seconds=1)),
    )


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    from tests.daemon.sending import MORNING, Clock

    return Clock(MORNING)


@pytest.fixture
def sender(  # type: ignore[no-untyped-def]
    twilio_settings, home_dir, clock, db, fake_twilio
):
    """A Sender on the real twilio client to the fake, on the test's clock."""
    from daemon.gateways import build_gateway
    from daemon.pipeline import Sender
    from store.home import resolve_home

    fake_twilio.clock = clock
    gateway = build_gateway(twilio_settings, resolve_home(home_dir))
    yield Sender(twilio_settings, gateway, clock=clock)
    gateway.close()


@pytest.fixture
def home(tmp_path: Path, fake_twilio, request):  # type: ignore[no-untyped-def]
    """A home with a practice and a consenting patient, sending to the fake;
    a ``config`` mark adds settings to its config.toml."""
    from daemon.queue import connect_queue
    from store import wakeups
    from store.consent import grant_consent
    from store.db import close_database, database, open_database
    from store.home import resolve_home
    from store.patients import add_patient
    from store.practices import create_practice
    from store.settings import load_settings
    from tests.daemon.daemon_process import write_config

    path = tmp_path / "home"
    path.mkdir()
    marker = request.node.get_closest_marker("config")
    write_config(path, fake_twilio, **(marker.kwargs if marker else {}))
    open_database(path / "frontdesk.db")
    practice = create_practice("Harbour Dental", "America/New_York", "US")
    settings = load_settings(path / "config.toml")
    patient = add_patient(
        practice, first_name="Maria", phone="(212) 555-0134", actor="test"
    )
    grant_consent(
        practice, patient.id, source="written_form", actor="test", settings=settings
    )
    connect_queue(resolve_home(path))
    yield path
    wakeups.set_hook(None)
    close_database()
    database.initialize(None)
