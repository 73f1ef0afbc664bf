"""Phone numbers as staff type them, turned into E.164 or refused with a reason."""

import pytest

from store.errors import InvalidInput
from store.phones import format_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(212) 555-0134", "+12125550134"),
        ("212.555.0134", "+12125550134"),
        ("212 555 0134", "+12125550134"),
        ("1-415-555-0199", "+14155550199"),
        ("  +1 (415) 555-0199  ", "+14155550199"),
        ("+61 491 570 006", "+61491570006"),
        ("+15005550009", "+15005550009"),
        ("+15005550006", "+15005550006"),
    ],
)
def test_messy_formats_normalise_to_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw, "US") == expected


def test_region_decides_numbers_without_a_country_code() -> None:
    assert normalize_phone("0491 570 006", "AU") == "+61491570006"
    assert normalize_phone("07400 123456", "gb") == "+447400123456"


def test_uk_landline_is_refused_as_unable_to_text() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone("+44 20 7946 0958", "US")

    assert caught.value.field == "phone"
    assert str(caught.value) == (
        "'+44 20 7946 0958' is a landline (fixed line) and cannot receive SMS."
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("800-555-0100", "is a toll-free number and cannot receive SMS"),
        ("+1 900 555 0100", "is a premium-rate number and cannot receive SMS"),
        ("12345", "is not a valid phone number for region US: it is too short"),
        ("555-0134", "it is missing its area code"),
        ("+1 212 555 013444", "it is too long"),
        ("+999 1234", "its country code is not known"),
        ("abc", "is not a phone number for region US"),
    ],
)
def test_refusals_quote_the_input_and_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw, "US")

    assert f"'{raw}'" in str(caught.value)
    assert reason in str(caught.value)
    assert caught.value.field == "phone"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "\t",
        "letters only",
        "212\x00555\x000134",
        "\x1b[31m",
        "5" * 10_000,
        "+",
        "--",
        "☎☎☎",
        "\ud800",
    ],
)
def test_junk_raises_invalid_input_only(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw, "US")

    assert caught.value.field == "phone"
    assert len(str(caught.value)) < 200


def test_control_characters_are_shown_escaped() -> None:
    with pytest.raises(InvalidInput, match=r"'212\\x00555' contains control"):
        normalize_phone("212\x00555", "US")


def test_non_text_input_is_refused() -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(2125550134, "US")  # type: ignore[arg-type]


def test_unknown_region_is_refused_naming_the_region() -> None:
    with pytest.raises(InvalidInput, match="'XX' is not a region code") as caught:
        normalize_phone("(212) 555-0134", "XX")

    assert caught.value.field == "region"


def test_invalid_input_is_a_value_error_for_generic_callers() -> None:
    with pytest.raises(ValueError):
        normalize_phone("nope", "US")


def test_format_phone_shows_home_numbers_nationally() -> None:
    assert format_phone("+12125550134", "US") == "(212) 555-0134"
    assert format_phone("+61491570006", "US") == "+61 491 570 006"
    assert format_phone("+61491570006", "AU") == "0491 570 006"


def test_format_phone_never_raises() -> None:
    assert format_phone("not a number", "US") == "not a number"
    assert format_phone("+12125550134", "") == "+1 212-555-0134"


def test_a_number_with_its_country_code_is_not_blamed_on_the_region():
    with pytest.raises(InvalidInput) as caught:
        normalize_phone("+44 7700 900123", "US")

    assert "region" not in str(caught.value)
