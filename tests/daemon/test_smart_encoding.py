"""Smart Encoding's replacements, and recognising a text after them."""

import pytest

from daemon.gateways.smart_encoding import REPLACEMENTS, pattern_for, smart_encoded


@pytest.mark.parametrize(
    "listed", sorted(REPLACEMENTS), ids=lambda ch: f"U+{ord(ch):04X}"
)
def test_every_listed_character_is_recognised_replaced_or_kept(listed: str) -> None:
    ours = f"Dr O{listed}Neil at 9:30{listed}"

    pattern = pattern_for(ours)

    assert pattern.fullmatch(smart_encoded(ours))
    assert pattern.fullmatch(ours)


def test_some_characters_replaced_and_others_kept_still_match() -> None:
    ours = "\u201cSee you\u201d \u2013 \u00bd hour\u2026"

    assert pattern_for(ours).fullmatch('\u201cSee you" - 1/2 hour\u2026')


@pytest.mark.parametrize(
    ("ours", "other"),
    [
        ("Your balance of $12.50 is due.", "Your balance of $1250 is due."),
        ("Take 1.5 tablets", "Take 15 tablets"),
        ("We'll call", "Well call"),
        ("Please re-sign", "Please resign"),
        ("Room 1 2", "Room 12"),
        ("Dr Ng\u2019s office\u2026", "Dr Ng's office!"),
        ("Arrive \u00bd hour early", "Arrive 1 hour early"),
        ("Jos\u00e9", "Jose"),
        ("(a+b)*c", "a+b*c"),
    ],
)
def test_different_texts_do_not_match(ours: str, other: str) -> None:
    assert not pattern_for(ours).fullmatch(other)
    assert not pattern_for(other).fullmatch(ours)


def test_replacements_are_plain_gsm_text() -> None:
    assert all(plain.isascii() for plain in REPLACEMENTS.values())
