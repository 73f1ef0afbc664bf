"""Drill fixtures: a fake Twilio on 127.0.0.1, and a desk home to break.

Every drill takes a ``size``: the short one runs in the default suite, the
slow one only with ``pytest -m slow tests/drills``.
"""

from collections.abc import Iterator

import pytest

from store import wakeups
from store.db import close_database, database
from tests.fakes.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    """A running FakeTwilio, reachable without proxies or region rewrites."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    with FakeTwilio(slow_seconds=2.0) as fake:
        yield fake


@pytest.fixture
def store_closed() -> Iterator[None]:
    """Unbind the store after the drill, whatever it left open."""
    yield
    wakeups.set_hook(None)
    close_database()
    database.initialize(None)
