"""How an SMS body is encoded and how many segments (billed parts) it costs."""

from dataclasses import dataclass
from typing import Literal

MAX_BODY = 1600
"""Longest body we accept, in characters; Twilio refuses longer ones."""

# GSM 03.38 default alphabet. Each character costs one septet. The escape
# character 0x1B is left out: it only introduces the extension table.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# The extension table: each character is sent as escape + code, two septets.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]

_GSM_SINGLE, _GSM_MULTI = 160, 153
_UCS2_SINGLE, _UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class SegmentInfo:
    """What a body costs: its encoding, parts, and room left in the last part.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2;
    ``per_segment`` is the capacity of one part at the body's current size
    (160/153 or 70/67), and ``remaining`` is how many units still fit in the
    last part before another one is needed.
    """

    encoding: Encoding
    segments: int
    units: int
    per_segment: int
    remaining: int


def non_gsm_characters(body: str) -> list[str]:
    """Return the characters that force ``body`` into UCS-2, each once, in order.

    Staff see these so they can swap, say, a curly apostrophe for a straight
    one and save the extra segments.
    """
    found: dict[str, None] = {}
    for char in body:
        if char not in GSM_BASIC and char not in GSM_EXTENSION:
            found.setdefault(char, None)
    return list(found)


def sms_segments(body: str) -> SegmentInfo:
    """Count the segments Twilio will bill for ``body``.

    GSM-7 is used when every character is in the GSM 03.38 tables, otherwise
    UCS-2. A character never straddles two segments: an extension character
    (escape pair) or a UTF-16 surrogate pair that would not fit in what is
    left of a segment starts the next one, as handsets do. An empty body is
    zero segments. The length limit (``MAX_BODY``) is not checked here.
    """
    if non_gsm_characters(body):
        encoding: Encoding = "UCS-2"
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in body]
        single, multi = _UCS2_SINGLE, _UCS2_MULTI
    else:
        encoding = "GSM-7"
        sizes = [2 if char in GSM_EXTENSION else 1 for char in body]
        single, multi = _GSM_SINGLE, _GSM_MULTI

    units = sum(sizes)
    if units <= single:
        segments = 1 if units else 0
        return SegmentInfo(encoding, segments, units, single, single - units)

    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return SegmentInfo(encoding, segments, units, multi, multi - used)
