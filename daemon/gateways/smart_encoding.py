"""Twilio's Smart Encoding: the plain characters a Messaging Service writes
in place of typographic and look-alike ones before it stores and sends a
text, so that more of it fits a GSM-7 segment.

Reconciling needs it: the text Twilio lists is the rewritten one, and taking
it for a different text would send ours again. The table follows Twilio's
published list of replaced characters, grouped here by what replaces them.
"""

import re

# What replaces each character: the plain text first, then the characters.
_GROUPS: tuple[tuple[str, str], ...] = (
    (
        '"',
        "\u00ab\u00bb\u201c\u201d\u201e\u201f\u02ba\u02ee"
        "\u275d\u275e\u301d\u301e\uff02",
    ),
    (
        "'",
        "\u2018\u2019\u201b\u02b9\u02bb\u02bc\u02bd\u02c8\u02ca\u02cb\u00b4`"
        "\u275b\u275c\u0313\u0314\ufe10\ufe11\uff07\u2017",
    ),
    (",", "\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001"),
    ("-", "\u2010\u2013\u2014\u2015\u2022\u2043\u23bc\u23bd\ufe63\uff0d"),
    (".", "\u3002\ufe52\uff0e\uff61"),
    ("...", "\u2026"),
    ("/", "\u00f7\u2044\u2215\u29f8\u0337\u0338\uff0f"),
    ("\\", "\u29f5\u29f9\u20e5\ufe68\uff3c"),
    ("_", "\u0332\uff3f"),
    ("|", "\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f"),
    ("@", "\ufe6b\uff20"),
    ("$", "\ufe69\uff04"),
    ("!", "\u01c3\ufe15\ufe57\uff01"),
    ("!!", "\u203c"),
    ("#", "\ufe5f\uff03"),
    ("%", "\ufe6a\uff05"),
    ("&", "\ufe60\uff06"),
    ("(", "\u2768\u276a\u27ee\u2985\ufe59\uff08"),
    (")", "\u2769\u276b\u27ef\u2986\ufe5a\uff09"),
    (
        "*",
        "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a"
        "\u273b\u273c\u273d\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a",
    ),
    ("+", "\u02d6\ufe62\uff0b"),
    (":", "\u02d0\u02f8\u2982\ua789\ufe13\uff1a"),
    (";", "\u204f\ufe14\ufe54\uff1b"),
    ("<", "\ufe64\uff1c\u2039"),
    (">", "\ufe65\uff1e\u203a"),
    ("=", "\u0347\ua78a\ufe66\uff1d"),
    ("?", "\ufe16\ufe56\uff1f"),
    ("^", "\u02c6\u0302\u1dcd\uff3e"),
    ("~", "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e"),
    ("{", "\u2774\ufe5b\uff5b"),
    ("}", "\u2775\ufe5c\uff5d"),
    ("[", "\uff3b"),
    ("]", "\uff3d"),
    ("1/4", "\u00bc"),
    ("1/2", "\u00bd"),
    ("3/4", "\u00be"),
    (
        " ",
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
        "\u200a\u202f\u205f\u3000\u2028\u2029",
    ),
    ("", "\u200b\u2060\ufeff"),
)

# Fullwidth digits and capitals, and small capitals, become the plain ones.
_SMALL_CAPITALS = {
    "A": "\u1d00", "B": "\u0299", "C": "\u1d04", "D": "\u1d05", "E": "\u1d07",
    "F": "\ua730", "G": "\u0262", "H": "\u029c", "I": "\u026a", "J": "\u1d0a",
    "K": "\u1d0b", "L": "\u029f", "M": "\u1d0d", "N": "\u0274", "O": "\u1d0f",
    "P": "\u1d18", "R": "\u0280", "S": "\ua731", "T": "\u1d1b", "U": "\u1d1c",
    "V": "\u1d20", "W": "\u1d21", "Y": "\u028f", "Z": "\u1d22",
}  # fmt: skip

REPLACEMENTS: dict[str, str] = (
    {ch: plain for plain, chars in _GROUPS for ch in chars}
    | {chr(0xFF10 + n): str(n) for n in range(10)}
    | {chr(0xFF21 + n): chr(ord("A") + n) for n in range(26)}
    | {small: capital for capital, small in _SMALL_CAPITALS.items()}
)
"""Each character Smart Encoding replaces, and the text it writes instead."""

# Where the published list and the characters' own names disagree on the
# direction of an angle quote, either is taken.
_EITHER = {"\u2039": "<>", "\u203a": "<>"}


def smart_encoded(body: str) -> str:
    """``body`` with every listed character replaced."""
    return "".join(REPLACEMENTS.get(ch, ch) for ch in body)


def pattern_for(body: str) -> re.Pattern[str]:
    """A pattern matching ``body`` as sent or as Smart Encoding may store it,
    each listed character either kept or replaced, and nothing else
    changed."""
    parts = []
    for ch in body:
        plain = REPLACEMENTS.get(ch)
        if plain is None:
            parts.append(re.escape(ch))
            continue
        choices = [re.escape(ch), re.escape(plain)]
        if ch in _EITHER:
            choices.append(f"[{re.escape(_EITHER[ch])}]")
        if plain == " ":
            # Some renderings of the list write two spaces for a wide one.
            choices.append("  ")
        parts.append(f"(?:{'|'.join(choices)})")
    return re.compile("".join(parts), re.DOTALL)
