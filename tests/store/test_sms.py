"""SMS encoding and segment counts, as Twilio bills them."""

import pytest

from store.sms import MAX_BODY, SegmentInfo, non_gsm_characters, sms_segments


def test_empty_body_is_zero_segments() -> None:
    assert sms_segments("") == SegmentInfo("GSM-7", 0, 0, 160, 160)


@pytest.mark.parametrize(
    ("length", "segments", "remaining"),
    [(1, 1, 159), (160, 1, 0), (161, 2, 145), (306, 2, 0), (307, 3, 152)],
)
def test_plain_text_uses_160_then_153(
    length: int, segments: int, remaining: int
) -> None:
    info = sms_segments("a" * length)

    assert info.encoding == "GSM-7"
    assert info.segments == segments
    assert info.units == length
    assert info.remaining == remaining
    assert info.per_segment == (160 if segments == 1 else 153)


def test_default_reminder_fits_one_segment() -> None:
    body = (
        "Hi Maria, this is a reminder of your appointment with Dr Chen at "
        "Smile Dental on Mon 9 Mar at 9:30 AM. Reply STOP to opt out."
    )

    assert sms_segments(body).segments == 1
    assert non_gsm_characters(body) == []


def test_curly_apostrophe_turns_the_message_into_ucs2() -> None:
    straight = "See you tomorrow, we're at 5 Main St. " * 3
    curly = straight.replace("'", "\u2019")

    assert sms_segments(straight) == SegmentInfo("GSM-7", 1, 114, 160, 46)
    assert sms_segments(curly).encoding == "UCS-2"
    assert sms_segments(curly).segments == 2
    assert non_gsm_characters(curly) == ["\u2019"]


@pytest.mark.parametrize("char", list("^{}\\[~]|€\f"))
def test_extension_characters_count_two(char: str) -> None:
    info = sms_segments("a" * 158 + char)

    assert info.encoding == "GSM-7"
    assert info.units == 160
    assert info.segments == 1


def test_extension_character_one_past_the_limit_needs_a_second_segment() -> None:
    assert sms_segments("a" * 159 + "€").segments == 2


def test_escape_pair_is_not_split_across_segments() -> None:
    # 152 plain septets leave one free in the first part; the euro sign needs
    # two, so it moves whole into the second part.
    info = sms_segments("a" * 152 + "€" + "b" * 10)

    assert info.units == 164
    assert info.segments == 2
    assert info.remaining == 153 - 12


def test_escape_pairs_that_would_straddle_add_a_segment() -> None:
    # 153 euro signs = 306 septets, which a naive count fits in 2 parts; kept
    # whole, 76 fit per part, so 3 parts are needed.
    info = sms_segments("€" * 153)

    assert info.units == 306
    assert info.segments == 3


def test_gsm_accented_letters_stay_gsm_but_others_do_not() -> None:
    assert sms_segments("Café Ñoño à Øresund ¿Qué? ¡Ya!").encoding == "GSM-7"
    assert sms_segments("Crème brûlée").encoding == "UCS-2"
    assert non_gsm_characters("Crème brûlée") == ["û"]


def test_ucs2_uses_70_then_67() -> None:
    assert sms_segments("ç" * 70).segments == 1
    assert sms_segments("ç" * 71) == SegmentInfo("UCS-2", 2, 71, 67, 63)


def test_emoji_counts_as_two_utf16_units() -> None:
    info = sms_segments("Hi 😀")

    assert info.encoding == "UCS-2"
    assert info.units == 5
    assert info.remaining == 65


def test_surrogate_pair_is_not_split_across_segments() -> None:
    # 35 emoji are exactly 70 units; 36 are 72, and only 33 fit in a 67-unit
    # part without cutting a pair in half.
    assert sms_segments("😀" * 35).segments == 1

    info = sms_segments("😀" * 36)

    assert info.units == 72
    assert info.segments == 2
    assert info.remaining == 67 - 6


def test_non_gsm_characters_lists_each_once_in_order() -> None:
    assert non_gsm_characters("“Hi” — it’s “me”") == ["“", "”", "—", "’"]


def test_escape_character_itself_is_not_gsm_text() -> None:
    assert non_gsm_characters("\x1b") == ["\x1b"]


def test_max_body_is_twilios_limit() -> None:
    assert MAX_BODY == 1600
    assert sms_segments("a" * MAX_BODY).segments == 11
