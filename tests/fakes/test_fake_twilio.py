"""The fake Twilio answers the real twilio client the way Twilio does."""

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from store.sms import sms_segments
from tests.fakes.fake_twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    count_segments,
)

SENDER = "+15005550006"
PATIENT = "+15551234567"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    with FakeTwilio(slow_seconds=3.0) as server:
        yield server


def client_for(fake: FakeTwilio, password: str = DEFAULT_AUTH_TOKEN) -> Client:
    client = Client(
        DEFAULT_ACCOUNT_SID,
        password,
        http_client=TwilioHttpClient(timeout=1.0),
    )
    client.api.base_url = fake.base_url
    return client


def test_binds_loopback_only(fake: FakeTwilio) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake._server is not None
    assert fake._server.server_address[0] == "127.0.0.1"


def test_create_answers_a_message_resource(fake: FakeTwilio) -> None:
    message = client_for(fake).messages.create(to=PATIENT, from_=SENDER, body="Hi")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.from_ == SENDER
    assert message.date_created.tzinfo is not None
    assert fake.messages_to(PATIENT)[0].sid == message.sid


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_magic_numbers_fail_like_twilio(fake: FakeTwilio, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client_for(fake).messages.create(to=to, from_=SENDER, body="Hi")

    assert (caught.value.status, caught.value.code) == (400, code)
    assert fake.messages == []


def test_missing_fields_and_long_body(fake: FakeTwilio) -> None:
    client = client_for(fake)
    cases = [
        ({"from_": SENDER, "body": "Hi"}, 21604),
        ({"to": PATIENT, "from_": SENDER}, 21602),
        ({"to": PATIENT, "body": "Hi"}, 21603),
        ({"to": PATIENT, "from_": SENDER, "body": "x" * 1601}, 21617),
    ]
    for kwargs, code in cases:
        kwargs.setdefault("to", "")
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(**kwargs)
        assert caught.value.code == code


def test_wrong_credentials_and_api_keys(fake: FakeTwilio) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client_for(fake, password="wrong").messages.create(
            to=PATIENT, from_=SENDER, body="Hi"
        )
    assert (caught.value.status, caught.value.code) == (401, 20003)

    fake.add_api_key("SK" + "1" * 32, "key-secret")
    client = Client("SK" + "1" * 32, "key-secret", DEFAULT_ACCOUNT_SID)
    client.api.base_url = fake.base_url
    client.messages.create(to=PATIENT, from_=SENDER, body="Hi")
    assert fake.requests[-1].auth_user == "SK" + "1" * 32


def test_list_pages_newest_first_and_fetch(fake: FakeTwilio) -> None:
    client = client_for(fake)
    for n in range(7):
        client.messages.create(to=PATIENT, from_=SENDER, body=f"n{n}")
    client.messages.create(to="+15557654321", from_=SENDER, body="other")

    listed = client.messages.list(to=PATIENT, limit=5, page_size=2)

    assert [m.body for m in listed] == ["n6", "n5", "n4", "n3", "n2"]
    assert len(client.messages.list(page_size=3)) == 8
    recent = datetime.now(UTC) - timedelta(minutes=1)
    assert len(client.messages.list(to=PATIENT, date_sent_after=recent)) == 7
    assert client.messages.list(date_sent_before=recent) == []
    assert client.messages(listed[0].sid).fetch().body == "n6"
    with pytest.raises(TwilioRestException) as caught:
        client.messages("SM" + "0" * 32).fetch()
    assert caught.value.code == 20404


def test_list_fails_on_request(fake: FakeTwilio) -> None:
    fake.list_fails = 1

    with pytest.raises(TwilioException):
        client_for(fake).messages.list(to=PATIENT, limit=5)
    assert client_for(fake).messages.list(to=PATIENT, limit=5) == []


def test_scripted_faults(fake: FakeTwilio) -> None:
    client = client_for(fake)
    fake.script("500", "429", "drop_after_accept", "drop_before_accept", "slow")

    for status in (500, 429):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=PATIENT, from_=SENDER, body="Hi")
        assert caught.value.status == status
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            client.messages.create(to=PATIENT, from_=SENDER, body="Hi")
    with pytest.raises(requests.ReadTimeout):
        client.messages.create(to=PATIENT, from_=SENDER, body="Hi")

    # Only the drop after accepting and the slow answer stored a message.
    assert len(fake.wait_for(2, timeout=1)) == 2
    assert [r.status for r in fake.requests] == [500, 429, None, None, 201]


def test_fault_rate_is_reproducible(fake: FakeTwilio) -> None:
    client = client_for(fake)

    def run() -> list[int]:
        fake.reset()
        fake.set_fault_rate("500", 0.5, seed=7)
        for _ in range(10):
            with contextlib.suppress(TwilioRestException):
                client.messages.create(to=PATIENT, from_=SENDER, body="Hi")
        return [r.status or 0 for r in fake.requests]

    first = run()
    assert 0 < first.count(500) < 10
    assert run() == first


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("’" * 70, 1),
        ("’" * 71, 2),
        ("😀" * 35, 1),
        ("😀" * 35 + "a", 2),
    ],
)
def test_segments_agree_with_the_store(body: str, segments: int) -> None:
    assert count_segments(body) == segments
    assert sms_segments(body).segments == segments
