"""End-to-end fixtures: a fake Twilio on 127.0.0.1 for the real daemon."""

from collections.abc import Iterator

import pytest

from tests.fakes.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(slow_seconds=5.0) as fake:
        yield fake
