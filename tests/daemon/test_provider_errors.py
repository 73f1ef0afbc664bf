"""How the pipeline answers each kind of provider error, against the real
twilio client and a fake Twilio that answers in Twilio's error JSON."""

from dataclasses import replace
from datetime import timedelta

import pytest

from daemon.gateways import build_gateway
from daemon.pipeline import Outcome, Sender
from daemon.sweep import sweep
from store.consent import latest_consent
from store.health import read_health
from store.home import resolve_home
from store.models import ConsentSource, MessageStatus
from tests.daemon.sending import MORNING, person, status_of, text


def test_429_goes_back_to_pending_with_backoff_and_fails_after_max_attempts(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script(*["429"] * 5)
    waits = []

    for attempt in range(1, 6):
        outcome = sender.send_message(message.id)
        stored = status_of(message)
        assert stored.attempts == attempt
        if attempt < 5:
            assert outcome is Outcome.RETRYING
            assert stored.status == MessageStatus.PENDING
            waits.append(stored.due_at - clock.now)
            clock.now = stored.due_at

    assert outcome is Outcome.FAILED
    assert stored.status == MessageStatus.FAILED
    assert "Gave up after 5 attempts" in stored.last_error
    assert timedelta(seconds=30) <= waits[0] <= timedelta(seconds=36)
    assert timedelta(seconds=60) <= waits[1] <= timedelta(seconds=72)
    assert timedelta(seconds=240) <= waits[3] <= timedelta(seconds=288)
    assert fake_twilio.messages == []


@pytest.mark.parametrize(
    ("number", "code", "words"),
    [
        ("+15005550001", "21211", "number"),
        ("+15005550009", "21614", "mobile"),
        ("+15005550003", "21408", ""),
        ("+15005550002", "21612", ""),
    ],
)
def test_permanent_errors_fail_at_once_with_a_sentence_for_staff(
    practice, twilio_settings, sender, fake_twilio, number, code, words
):
    patient = person(practice, twilio_settings, phone=number)
    message = text(practice, twilio_settings, patient)

    assert sender.send_message(message.id) is Outcome.FAILED

    stored = status_of(message)
    assert stored.status == MessageStatus.FAILED
    assert stored.attempts == 1
    assert stored.last_error_code == code
    assert words.lower() in stored.last_error.lower()
    assert "+1500" not in stored.last_error


def test_an_unsubscribed_recipient_revokes_consent_and_cancels_the_rest(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings, phone="+15005550004")
    first = text(practice, twilio_settings, patient)
    later = text(practice, twilio_settings, patient, at=MORNING + timedelta(days=1))

    assert sender.send_message(first.id) is Outcome.FAILED

    assert status_of(first).last_error_code == "21610"
    assert status_of(later).status == MessageStatus.CANCELLED
    record = latest_consent(patient)
    assert record.granted is False
    assert record.source == ConsentSource.CARRIER_OPT_OUT


def test_bad_credentials_pause_sending_and_keep_the_row_pending(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    first = text(practice, twilio_settings, patient)
    second = text(practice, twilio_settings, patient)
    fake_twilio.script("auth")

    assert sender.send_message(first.id) is Outcome.PAUSED
    assert sender.send_message(second.id) is Outcome.PAUSED

    # Staff and monitoring see the problem at once, not at the next sweep.
    assert "20003" in read_health(practice).error
    assert len(fake_twilio.requests) == 1
    for message in (first, second):
        assert status_of(message).status == MessageStatus.PENDING
        assert status_of(message).attempts == 0

    clock.now = MORNING + timedelta(minutes=2)
    summary = sweep(sender, version="test")
    assert summary.outcomes["sent"] == 2
    assert read_health(practice).error == ""


def test_a_sweep_that_meets_refused_credentials_defers_the_rest_of_its_batch(
    practice, twilio_settings, sender, fake_twilio
):
    patient = person(practice, twilio_settings)
    for _ in range(3):
        text(practice, twilio_settings, patient)
    fake_twilio.script("auth")

    summary = sweep(sender, version="test")

    assert summary.outcomes["paused"] == 3
    assert len(fake_twilio.requests) == 1
    assert "credentials" in read_health(practice).error.lower()


def test_a_dropped_connection_after_acceptance_is_reconciled_not_resent(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script("drop_after_accept")

    assert sender.send_message(message.id) is Outcome.IN_DOUBT
    assert status_of(message).status == MessageStatus.SENDING

    clock.now = MORNING + timedelta(minutes=3)
    summary = sweep(sender, version="test")

    assert summary.reconciled == 1
    stored = status_of(message)
    assert stored.status == MessageStatus.SENT
    assert stored.provider_sid == fake_twilio.messages[0].sid
    assert len(fake_twilio.messages) == 1


def test_a_text_smart_encoded_by_the_provider_is_still_found_when_reconciling(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    body = "Your crown\u2019s ready \u2014 see you at 3\u00a0pm\u2026"
    message = text(practice, twilio_settings, patient, body=body)
    fake_twilio.smart_encoding = True
    fake_twilio.script("drop_after_accept")

    assert sender.send_message(message.id) is Outcome.IN_DOUBT
    clock.now = MORNING + timedelta(minutes=3)
    summary = sweep(sender, version="test")

    assert summary.reconciled == 1
    [kept] = fake_twilio.messages
    assert kept.body == "Your crown's ready - see you at 3 pm..."
    stored = status_of(message)
    assert stored.status == MessageStatus.SENT
    assert stored.provider_sid == kept.sid


def test_a_different_text_to_the_same_number_is_not_taken_for_ours(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient, body="Your crown is ready.")
    other = text(practice, twilio_settings, patient, body="Your bridge is ready.")
    fake_twilio.smart_encoding = True
    fake_twilio.script("drop_after_accept", "500")

    assert sender.send_message(other.id) is Outcome.IN_DOUBT
    assert sender.send_message(message.id) is Outcome.IN_DOUBT
    clock.now = MORNING + timedelta(minutes=3)
    sweep(sender, version="test")

    assert status_of(other).status == MessageStatus.SENT
    # Only the bridge text reached Twilio: the crown one goes again.
    assert status_of(message).status == MessageStatus.PENDING
    assert [m.body for m in fake_twilio.messages] == ["Your bridge is ready."]


@pytest.mark.parametrize("shared_mobile", [False, True], ids=["same", "family"])
def test_the_same_text_twice_is_not_taken_for_the_one_already_recorded(
    practice, twilio_settings, sender, fake_twilio, clock, shared_mobile
):
    parent = person(practice, twilio_settings)
    child = person(practice, twilio_settings, name="Ana") if shared_mobile else parent
    first = text(practice, twilio_settings, parent, body="Your visit is tomorrow.")
    again = text(practice, twilio_settings, child, body="Your visit is tomorrow.")
    fake_twilio.script("ok", "500")

    assert sender.send_message(first.id) is Outcome.SENT
    assert sender.send_message(again.id) is Outcome.IN_DOUBT
    clock.now = MORNING + timedelta(minutes=3)
    sweep(sender, version="test")

    # Twilio lists the first one only; it is not the second's.
    assert status_of(again).status == MessageStatus.PENDING
    assert status_of(again).provider_sid != status_of(first).provider_sid
    assert len(fake_twilio.messages) == 1


def test_a_500_that_was_not_accepted_is_reconciled_then_sent_once(
    practice, twilio_settings, sender, fake_twilio, clock
):
    patient = person(practice, twilio_settings)
    message = text(practice, twilio_settings, patient)
    fake_twilio.script("500")

    assert sender.send_message(message.id) is Outcome.IN_DOUBT
    clock.now = MORNING + timedelta(minutes=3)
    sweep(sender, version="test")
    assert status_of(message).status == MessageStatus.PENDING

    clock.now = status_of(message).due_at
    sweep(sender, version="test")

    assert status_of(message).status == MessageStatus.SENT
    assert len(fake_twilio.messages) == 1


@pytest.mark.parametrize(
    ("unknown_after", "still_asking", "given_up"),
    [(None, 19, 21), (5, 4, 6)],
    ids=["default-20m", "set-to-5m"],
)
def test_no_answer_for_long_enough_makes_the_outcome_unknown_for_staff(
    practice,
    twilio_settings,
    fake_twilio,
    home_dir,
    clock,
    unknown_after,
    still_asking,
    given_up,
):
    settings = twilio_settings
    if unknown_after is not None:
        wait = timedelta(minutes=unknown_after)
        settings = replace(
            settings, sending=replace(settings.sending, unknown_after=wait)
        )
    gateway = build_gateway(settings, resolve_home(home_dir))
    sender = Sender(settings, gateway, clock=clock)
    patient = person(practice, settings)
    message = text(practice, settings, patient)
    fake_twilio.script("drop_before_accept")
    sender.send_message(message.id)
    fake_twilio.list_fails = 100

    clock.now = MORNING + timedelta(minutes=still_asking)
    sweep(sender, version="test")
    assert status_of(message).status == MessageStatus.SENDING

    clock.now = MORNING + timedelta(minutes=given_up)
    summary = sweep(sender, version="test")

    stored = status_of(message)
    assert summary.outcomes["unknown"] == 1
    assert stored.status == MessageStatus.UNKNOWN
    assert "retry or cancel" in stored.last_error
    assert fake_twilio.messages == []
