"""Fixtures for daemon tests: a fake Twilio on 127.0.0.1."""

from collections.abc import Iterator

import pytest

from tests.fakes.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    """A running FakeTwilio, reachable without proxies or region rewrites."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    with FakeTwilio(slow_seconds=5.0) as fake:
        yield fake
