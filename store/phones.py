"""Phone numbers: turn what staff type into E.164, and show E.164 to staff."""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult as Possible

from store.errors import InvalidInput

# Longer than any real number with spaces, dashes and an extension; anything
# past this is pasted junk and is refused before the parser sees it.
_MAX_INPUT = 64
_SHOWN_MAX = 40

_TEXTABLE = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.VOIP,
    }
)

_REFUSED = {
    PhoneNumberType.FIXED_LINE: "a landline (fixed line)",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UAN: "a company switchboard (UAN) number",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
    PhoneNumberType.PAGER: "a pager number",
}

_IMPOSSIBLE = {
    Possible.TOO_SHORT: "too short",
    Possible.TOO_LONG: "too long",
    Possible.INVALID_LENGTH: "the wrong length",
    Possible.INVALID_COUNTRY_CODE: "not using a known country code",
    Possible.IS_POSSIBLE_LOCAL_ONLY: "missing its area code",
}

_UNPARSABLE = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is not known",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}


def normalize_phone(raw: str, region: str) -> str:
    """Return ``raw`` as an E.164 number that can receive SMS, like '+12125550134'.

    ``region`` (such as 'US') is the practice's region, used for numbers typed
    without a '+' country code. Raises InvalidInput (field 'phone') quoting the
    input and the reason: empty, not a number, too short or long, not valid
    for the region, or a kind of line that cannot take texts (landline,
    toll-free, premium rate and the like). Raises InvalidInput (field
    'region') for an unknown region code.
    """
    if not isinstance(raw, str):
        raise InvalidInput("A phone number must be text.", field="phone")

    region = _check_region(region)
    text = raw.strip()
    if not text:
        raise InvalidInput("A phone number is required.", field="phone")

    shown = _shown(text)
    if len(text) > _MAX_INPUT:
        raise InvalidInput(f"{shown} is too long to be a phone number.", field="phone")
    if any(not char.isprintable() for char in text):
        raise InvalidInput(
            f"{shown} contains control characters; type the number again.",
            field="phone",
        )

    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _UNPARSABLE.get(exc.error_type, "it has too few digits")
        raise InvalidInput(
            f"{shown} is not a phone number for region {region}: {reason}.",
            field="phone",
        ) from exc

    # A number written with its + country code does not depend on the
    # practice's region, so the message should not mention it.
    where = "" if text.startswith("+") else f" for region {region}"
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _IMPOSSIBLE:
        raise InvalidInput(
            f"{shown} is not a valid phone number{where}: "
            f"it is {_IMPOSSIBLE[possible]}.",
            field="phone",
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"{shown} is not a valid phone number{where}.",
            field="phone",
        )

    kind = phonenumbers.number_type(number)
    if kind in _REFUSED:
        raise InvalidInput(
            f"{shown} is {_REFUSED[kind]} and cannot receive SMS.", field="phone"
        )
    if kind not in _TEXTABLE:
        raise InvalidInput(
            f"{shown} is not a mobile number, so it may not receive SMS.",
            field="phone",
        )

    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def format_phone(e164: str, region: str) -> str:
    """Return an E.164 number in the form staff expect to read.

    Numbers of the practice's own country are shown nationally,
    '(212) 555-0134'; others internationally, '+61 491 570 006'. This is for
    display only: it never raises, and gives back the input unchanged when it
    cannot be parsed.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164

    home_code = phonenumbers.country_code_for_region((region or "").upper())
    if number.country_code == home_code:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _check_region(region: str) -> str:
    code = region.upper() if isinstance(region, str) else ""
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            f"{region!r} is not a region code the phone checks know; use a "
            "two-letter code such as 'US', 'GB' or 'AU'.",
            field="region",
        )
    return code


def _shown(text: str) -> str:
    """Quote what was typed, cut short so a pasted page stays readable."""
    cut = text[:_SHOWN_MAX]
    visible = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return f"'{visible}…'" if len(text) > _SHOWN_MAX else f"'{visible}'"
