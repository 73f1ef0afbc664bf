"""The send gateways against a fake Twilio and a real outbox file."""

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from daemon.gateways import (
    Accepted,
    ErrorKind,
    GatewayError,
    OutboxGateway,
    Outgoing,
    TwilioCredentials,
    TwilioGateway,
    build_gateway,
    classify,
    load_twilio_credentials,
)
from daemon.gateways.twilio import _translate
from store.errors import ConfigError
from store.home import Home
from store.settings import SendingSettings, Settings, SmsSettings
from tests.fakes.fake_twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
)

SENDER = "+15005550006"
PATIENT = "+15551234567"
CREDENTIALS = TwilioCredentials(
    DEFAULT_ACCOUNT_SID, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
)


def outgoing(to: str = PATIENT, body: str = "See you at 9", message_id: int = 1):
    return Outgoing(message_id, to, body, claimed_at=datetime.now(UTC))


@pytest.fixture
def gateway(fake_twilio: FakeTwilio) -> Iterator[TwilioGateway]:
    gateway = TwilioGateway(
        CREDENTIALS, from_number=SENDER, api_base=fake_twilio.base_url, timeout=1.0
    )
    yield gateway
    gateway.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def full_backlog_port() -> Iterator[int]:
    """A loopback port whose accept queue is full: connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [listener, *fillers]:
        sock.close()


# Twilio: accepted and refused


def test_send_is_accepted(gateway: TwilioGateway, fake_twilio: FakeTwilio) -> None:
    accepted = gateway.send(outgoing(body="x" * 161))

    assert accepted == Accepted(fake_twilio.messages[0].sid, 2, "twilio")
    assert fake_twilio.messages[0].from_ == SENDER


def test_messaging_service_is_the_sender(fake_twilio: FakeTwilio) -> None:
    service = "MG" + "2" * 32
    gateway = TwilioGateway(
        CREDENTIALS, messaging_service_sid=service, api_base=fake_twilio.base_url
    )

    gateway.send(outgoing())

    assert fake_twilio.messages[0].messaging_service_sid == service
    assert fake_twilio.messages[0].from_ is None


@pytest.mark.parametrize(
    ("to", "kind", "code", "words"),
    [
        ("+15005550001", ErrorKind.PERMANENT, 21211, "not valid for texting"),
        ("+15005550002", ErrorKind.PERMANENT, 21612, "cannot reach this number"),
        ("+15005550003", ErrorKind.PERMANENT, 21408, "Geo Permissions"),
        ("+15005550004", ErrorKind.OPTED_OUT, 21610, "replied STOP"),
        ("+15005550009", ErrorKind.PERMANENT, 21614, "Not a mobile number"),
    ],
)
def test_refusals_are_classified(
    gateway: TwilioGateway, to: str, kind: ErrorKind, code: int, words: str
) -> None:
    with pytest.raises(GatewayError) as caught:
        gateway.send(outgoing(to=to))

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert words in caught.value.staff_message
    assert to not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("fault", "kind", "code", "stored"),
    [
        ("auth", ErrorKind.AUTH, 20003, 0),
        ("429", ErrorKind.RETRY, 20429, 0),
        ("500", ErrorKind.AMBIGUOUS, 20500, 0),
        ("503", ErrorKind.AMBIGUOUS, 20503, 0),
    ],
)
def test_provider_faults_are_classified(
    gateway: TwilioGateway,
    fake_twilio: FakeTwilio,
    fault: str,
    kind: ErrorKind,
    code: int,
    stored: int,
) -> None:
    fake_twilio.script(fault)

    with pytest.raises(GatewayError) as caught:
        gateway.send(outgoing())

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert len(fake_twilio.messages) == stored


def test_wrong_credentials_are_auth(fake_twilio: FakeTwilio) -> None:
    wrong = TwilioCredentials(DEFAULT_ACCOUNT_SID, DEFAULT_ACCOUNT_SID, "not-it")
    gateway = TwilioGateway(wrong, from_number=SENDER, api_base=fake_twilio.base_url)

    with pytest.raises(GatewayError) as caught:
        gateway.send(outgoing())
    assert caught.value.kind is ErrorKind.AUTH

    with pytest.raises(GatewayError) as caught:
        gateway.find_sent(PATIENT, datetime.now(UTC), "Hi", 1)
    assert caught.value.kind is ErrorKind.AUTH
    assert "not-it" not in str(caught.value)


def test_api_key_sign_in(fake_twilio: FakeTwilio) -> None:
    fake_twilio.add_api_key("SK" + "1" * 32, "key-secret")
    key = TwilioCredentials(DEFAULT_ACCOUNT_SID, "SK" + "1" * 32, "key-secret")
    gateway = TwilioGateway(key, from_number=SENDER, api_base=fake_twilio.base_url)

    gateway.send(outgoing())

    assert fake_twilio.requests[-1].auth_user == "SK" + "1" * 32


# Twilio: transport failures, and reconciling after them


def test_slow_answer_is_ambiguous_within_the_timeout(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.script("slow")
    job = outgoing()

    started = time.monotonic()
    with pytest.raises(GatewayError) as caught:
        gateway.send(job)

    assert time.monotonic() - started < 3
    assert caught.value.kind is ErrorKind.AMBIGUOUS
    found = gateway.find_sent(job.to, job.claimed_at, job.body, job.message_id)
    assert found is not None
    assert found.provider_sid == fake_twilio.messages[0].sid


def test_drop_after_accept_is_ambiguous_and_found(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.script("drop_after_accept")
    job = outgoing()

    with pytest.raises(GatewayError) as caught:
        gateway.send(job)

    assert caught.value.kind is ErrorKind.AMBIGUOUS
    found = gateway.find_sent(job.to, job.claimed_at, job.body, job.message_id)
    assert found == Accepted(fake_twilio.messages[0].sid, 1, "twilio")


def test_drop_before_accept_is_ambiguous_and_not_found(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.script("drop_before_accept")
    job = outgoing()

    with pytest.raises(GatewayError) as caught:
        gateway.send(job)

    # From the client's side a drop before or after accepting looks the same.
    assert caught.value.kind is ErrorKind.AMBIGUOUS
    assert gateway.find_sent(job.to, job.claimed_at, job.body, 1) is None


def test_connection_refused_is_retry(closed_port: int) -> None:
    gateway = TwilioGateway(
        CREDENTIALS, from_number=SENDER, api_base=f"http://127.0.0.1:{closed_port}"
    )

    with pytest.raises(GatewayError) as caught:
        gateway.send(outgoing())
    assert caught.value.kind is ErrorKind.RETRY

    with pytest.raises(GatewayError):
        gateway.find_sent(PATIENT, datetime.now(UTC), "Hi", 1)


def test_connect_timeout_is_retry(full_backlog_port: int) -> None:
    gateway = TwilioGateway(
        CREDENTIALS,
        from_number=SENDER,
        api_base=f"http://127.0.0.1:{full_backlog_port}",
        timeout=0.3,
    )

    with pytest.raises(GatewayError) as caught:
        gateway.send(outgoing())

    assert caught.value.kind is ErrorKind.RETRY


def test_transport_errors_are_translated_by_shape() -> None:
    cause = NewConnectionError(None, "refused")  # type: ignore[arg-type]
    exhausted = MaxRetryError(None, "/", cause)  # type: ignore[arg-type]
    refused = requests.ConnectionError(exhausted)

    assert _translate(refused).kind is ErrorKind.RETRY
    assert _translate(requests.ConnectTimeout()).kind is ErrorKind.RETRY
    assert _translate(requests.ReadTimeout()).kind is ErrorKind.AMBIGUOUS
    assert _translate(requests.ConnectionError()).kind is ErrorKind.AMBIGUOUS
    assert _translate(requests.exceptions.ChunkedEncodingError()).kind is (
        ErrorKind.AMBIGUOUS
    )


def test_find_sent_matches_body_and_time(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    since = datetime.now(UTC)
    gateway.send(outgoing(body="Other text"))
    first = gateway.send(outgoing(body="Hi"))
    second = gateway.send(outgoing(body="Hi"))

    assert gateway.find_sent(PATIENT, since, "Hi", 1) == second
    assert first != second
    assert gateway.find_sent(PATIENT, since, "Hi!", 1) is None
    assert gateway.find_sent("+15557654321", since, "Hi", 1) is None
    later = since + timedelta(minutes=2)
    assert gateway.find_sent(PATIENT, later, "Hi", 1) is None


@pytest.mark.parametrize(
    "ours",
    [
        "\u201cSee you\u201d \u2013 Dr\u00a0Ng\u2019s office\u2026",
        "Don\u00b4t forget: 3\u202fpm, Dr O\u02bcNeil \u00abroom 2\u00bb",
        "\u275bBring\u275c your card \u2014 and `ID`",
        "Hola Jos\u00e9 \u2013 ma\u00f1ana 9:30 \U0001f9b7",
        "Please arrive \u00bd hour early\u200b, Ms Pen\u0303a\u201a thanks",
    ],
)
def test_find_sent_sees_through_smart_encoding(
    gateway: TwilioGateway, fake_twilio: FakeTwilio, ours: str
) -> None:
    since = datetime.now(UTC)
    fake_twilio.smart_encoding = True
    sent = gateway.send(outgoing(body=ours))

    assert gateway.find_sent(PATIENT, since, ours, 1) == sent


@pytest.mark.parametrize(
    ("sent_body", "ours"),
    [
        ("Your balance of $12.50 is due.", "Your balance of $1250 is due."),
        ("Take 1.5 tablets", "Take 15 tablets"),
        ("We'll call", "Well call"),
        ("Please re-sign", "Please resign"),
        ("Room 1 2", "Room 12"),
        ("See you at 9.30", "See you at 930"),
        ("Dr Ng\u2019s office\u2026", "Dr Ng's office!"),
    ],
)
def test_find_sent_does_not_take_one_text_for_another(
    gateway: TwilioGateway, fake_twilio: FakeTwilio, sent_body: str, ours: str
) -> None:
    since = datetime.now(UTC)
    fake_twilio.smart_encoding = True
    gateway.send(outgoing(body=sent_body))

    assert gateway.find_sent(PATIENT, since, ours, 1) is None


def test_find_sent_passes_over_texts_already_recorded(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    since = datetime.now(UTC)
    first = gateway.send(outgoing(body="Hi"))
    second = gateway.send(outgoing(body="Hi"))

    found = gateway.find_sent(PATIENT, since, "Hi", 1, {second.provider_sid})
    assert found == first
    taken = {first.provider_sid, second.provider_sid}
    assert gateway.find_sent(PATIENT, since, "Hi", 1, taken) is None


def test_find_sent_fails_when_listing_fails(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.list_fails = 1

    with pytest.raises(GatewayError) as caught:
        gateway.find_sent(PATIENT, datetime.now(UTC), "Hi", 1)

    assert (caught.value.kind, caught.value.code) == (ErrorKind.AMBIGUOUS, 20500)


def test_threads_share_one_gateway(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    def send_ten(worker: int) -> None:
        for n in range(10):
            gateway.send(outgoing(body=f"{worker}-{n}", message_id=worker * 100 + n))

    threads = [threading.Thread(target=send_ten, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(fake_twilio.wait_for(40, timeout=5)) == 40
    assert len(gateway._http_clients) == 4


def test_no_secrets_or_numbers_in_logs(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("twilio.http_client").setLevel(logging.NOTSET)
    caplog.set_level(logging.DEBUG)
    gateway = TwilioGateway(
        CREDENTIALS, from_number=SENDER, api_base=fake_twilio.base_url, timeout=1
    )
    fake_twilio.script("ok", "500", "drop_after_accept")

    for _ in range(3):
        try:
            gateway.send(outgoing())
        except GatewayError as error:
            assert DEFAULT_AUTH_TOKEN not in str(error)
    with pytest.raises(GatewayError):
        gateway.send(outgoing(to="+15005550001"))
    gateway.find_sent(PATIENT, datetime.now(UTC), "See you at 9", 1)

    assert "accepted by twilio" in caplog.text
    for secret in (DEFAULT_AUTH_TOKEN, PATIENT, "+15005550001", "%2B1555"):
        assert secret not in caplog.text
    assert DEFAULT_AUTH_TOKEN not in repr(gateway)


# Errors as data


def test_classify_falls_back_on_status() -> None:
    assert classify(400, 99999).kind is ErrorKind.PERMANENT
    assert classify(400, 30007).kind is ErrorKind.PERMANENT
    assert classify(400, 21611).kind is ErrorKind.RETRY
    assert classify(502, None).kind is ErrorKind.AMBIGUOUS
    assert classify(503, 21211).kind is ErrorKind.AMBIGUOUS
    assert classify(403, 12345).kind is ErrorKind.AUTH
    assert str(GatewayError.from_provider(400, 21614)).endswith("(error 21614)")


# Credentials


def write_credentials(folder: Path, **values: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (folder / name).write_text(value + "\n")
    return folder


def test_credentials_absent() -> None:
    assert load_twilio_credentials(SmsSettings(), env={}) is None


def test_credentials_environment_beats_files_beats_config(tmp_path: Path) -> None:
    sms = SmsSettings(account_sid="AC" + "c" * 32, auth_token="from-config")
    folder = write_credentials(tmp_path / "creds", twilio_auth_token="from-file")

    from_config = load_twilio_credentials(sms, env={})
    from_file = load_twilio_credentials(sms, env={}, credentials_dir=folder)
    from_env = load_twilio_credentials(
        sms, env={"TWILIO_AUTH_TOKEN": "from-env"}, credentials_dir=folder
    )

    assert from_config is not None and from_config.password == "from-config"
    assert from_file is not None and from_file.password == "from-file"
    assert from_file.account_sid == "AC" + "c" * 32
    assert dict(from_file.sources)["auth_token"] == "systemd credential " + (
        "twilio_auth_token"
    )
    assert from_env is not None and from_env.password == "from-env"
    assert "from-env" not in repr(from_env)
    assert "from-env" not in from_env.describe()


def test_credentials_directory_from_environment(tmp_path: Path) -> None:
    folder = write_credentials(
        tmp_path / "creds",
        twilio_account_sid="AC" + "d" * 32,
        twilio_auth_token="file-token",
    )

    found = load_twilio_credentials(
        SmsSettings(), env={"CREDENTIALS_DIRECTORY": str(folder)}
    )

    assert found is not None and found.password == "file-token"


def test_api_key_wins_over_auth_token() -> None:
    env = {
        "TWILIO_ACCOUNT_SID": "AC" + "e" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_API_KEY": "SK" + "e" * 32,
        "TWILIO_API_SECRET": "key-secret",
    }

    found = load_twilio_credentials(SmsSettings(), env=env)

    assert found is not None and found.uses_api_key
    assert (found.username, found.password) == ("SK" + "e" * 32, "key-secret")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"TWILIO_ACCOUNT_SID": "AC" + "f" * 32}, "auth_token"),
        ({"TWILIO_AUTH_TOKEN": "token"}, "account_sid"),
        ({"TWILIO_API_KEY": "SK" + "f" * 32}, "account_sid, api_secret"),
    ],
)
def test_incomplete_credentials_name_what_is_missing(
    env: dict[str, str], missing: str
) -> None:
    with pytest.raises(ConfigError, match=missing) as caught:
        load_twilio_credentials(SmsSettings(), env=env)

    assert "token" not in str(caught.value).replace("auth_token", "")


def test_swapped_account_sid_is_refused() -> None:
    env = {"TWILIO_ACCOUNT_SID": "SK" + "0" * 32, "TWILIO_AUTH_TOKEN": "token"}

    with pytest.raises(ConfigError, match="must start with 'AC'"):
        load_twilio_credentials(SmsSettings(), env=env)


# Choosing a gateway


def settings_with(**sms: object) -> Settings:
    return Settings(
        sms=SmsSettings(**sms),  # type: ignore[arg-type]
        sending=SendingSettings(timeout=timedelta(seconds=2)),
    )


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path, tmp_path, tmp_path, tmp_path)


def test_build_outbox_and_auto_without_credentials(home: Home) -> None:
    for backend in ("outbox", "auto"):
        gateway = build_gateway(settings_with(backend=backend), home, env={})
        assert isinstance(gateway, OutboxGateway)
        assert gateway.path == home.outbox


def test_build_twilio_when_credentials_are_found(home: Home) -> None:
    env = {"TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": "token"}

    gateway = build_gateway(settings_with(from_number=SENDER), home, env=env)

    assert isinstance(gateway, TwilioGateway)
    assert gateway._timeout == 2


def test_build_twilio_refuses_missing_pieces(home: Home) -> None:
    with pytest.raises(ConfigError, match="no Twilio credentials"):
        build_gateway(settings_with(backend="twilio"), home, env={})

    env = {"TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": "token"}
    with pytest.raises(ConfigError, match="messaging_service_sid"):
        build_gateway(settings_with(), home, env=env)


# Outbox


def test_outbox_appends_and_finds(tmp_path: Path) -> None:
    gateway = OutboxGateway(tmp_path / "outbox.jsonl")
    job = outgoing(body="Hi ’there’", message_id=7)

    accepted = gateway.send(job)

    record = json.loads((tmp_path / "outbox.jsonl").read_text())
    assert accepted == Accepted(record["sid"], 1, "outbox")
    assert record["sid"].startswith("OB")
    assert (record["message_id"], record["to"], record["body"]) == (
        7,
        PATIENT,
        "Hi ’there’",
    )
    assert record["encoding"] == "UCS-2"
    assert (tmp_path / "outbox.jsonl").stat().st_mode & 0o077 == 0
    assert gateway.find_sent(PATIENT, job.claimed_at, job.body, 7) == accepted
    assert gateway.find_sent(PATIENT, job.claimed_at, job.body, 8) is None
    later = job.claimed_at + timedelta(minutes=2)
    assert gateway.find_sent(PATIENT, later, job.body, 7) is None


def test_outbox_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    path.write_text('{"sid": "OB1", "message_id": 1, "to"')
    gateway = OutboxGateway(path)
    job = outgoing(message_id=2)

    assert gateway.find_sent(PATIENT, job.claimed_at, job.body, 1) is None
    accepted = gateway.send(job)

    assert gateway.find_sent(PATIENT, job.claimed_at, job.body, 2) == accepted
    assert len(path.read_text().splitlines()) == 2


def test_outbox_missing_file_means_not_sent(tmp_path: Path) -> None:
    gateway = OutboxGateway(tmp_path / "none" / "outbox.jsonl")

    assert gateway.find_sent(PATIENT, datetime.now(UTC), "Hi", 1) is None


def test_outbox_concurrent_appends(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    gateways = [OutboxGateway(path), OutboxGateway(path)]

    def send_many(worker: int) -> None:
        for n in range(25):
            body = f"{worker}-{n} " + "x" * 3000
            gateways[worker % 2].send(outgoing(body=body, message_id=worker * 100 + n))

    threads = [threading.Thread(target=send_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 200
    assert len({r["sid"] for r in records}) == 200
