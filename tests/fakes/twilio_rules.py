"""What Twilio answers: magic test numbers, checks on a new message, segments."""

import email.utils
import operator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daemon.gateways.smart_encoding import smart_encoded

API_VERSION = "2010-04-01"
MAX_BODY = 1600


@dataclass(frozen=True)
class FakeMessage:
    """A message the fake accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    num_segments: int
    received_at: float
    date_created: datetime
    status: str = "queued"
    error_code: int | None = None
    seq: int = 0


# Twilio's documented magic test numbers, answered the same way here.
MAGIC_TO = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently "
        "reachable using the 'From' phone number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled "
        "for the region indicated by the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}
MAGIC_FROM = {
    "+15005550001": (
        21212,
        "The 'From' number {from_} is not a valid phone "
        "number, shortcode, or alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The 'From' phone number provided is not a valid "
        "message-capable Twilio phone number for this destination.",
    ),
    "+15005550008": (
        21611,
        "This 'From' number has exceeded the maximum number of queued messages.",
    ),
}

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def smart_encode(body: str) -> str:
    """The body as a Smart Encoding service keeps it (unchanged when some
    character would still need UCS-2 after the replacements)."""
    encoded = smart_encoded(body)
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in encoded):
        return encoded
    return body


def count_segments(body: str) -> int:
    """Count SMS segments as a carrier would: GSM-7 if possible, else UCS-2.

    Kept separate from ``store.sms`` on purpose, so the two can check each
    other.
    """
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in body):
        units = [2 if ch in GSM_EXTENSION else 1 for ch in body]
        single, multi = 160, 153
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
        single, multi = 70, 67

    if sum(units) <= single:
        return 1

    # An escape sequence or a surrogate pair never straddles two segments.
    segments, used = 1, 0
    for size in units:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments


def check_create(form: dict[str, str]) -> tuple[int, int, str] | None:
    """Return (HTTP status, Twilio code, message) refusing a create form, or
    None when Twilio would accept it."""
    to = form.get("To", "").strip()
    from_ = form.get("From", "").strip() or None
    service = form.get("MessagingServiceSid", "").strip() or None
    body = form.get("Body", "")

    if not to:
        return (400, 21604, "A 'To' phone number is required.")
    if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
        return (400, 21602, "Message body is required.")
    if not from_ and not service:
        return (400, 21603, "A 'From' phone number is required.")
    if len(body) > MAX_BODY:
        return (
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        )
    if service and not (service.startswith("MG") and len(service) == 34):
        return (400, 21701, "The Messaging Service Sid is invalid.")
    if from_ in MAGIC_FROM:
        code, text = MAGIC_FROM[from_]
        return (400, code, text.format(from_=from_))
    if to in MAGIC_TO:
        code, text = MAGIC_TO[to]
        return (400, code, text.format(to=to))
    if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
        return (400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if to == from_:
        return (400, 21266, "'To' and 'From' number cannot be the same.")

    return None


def error_body(status: int, code: int, message: str) -> dict[str, object]:
    """Twilio's JSON for an error."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def rfc2822(instant: datetime) -> str:
    return email.utils.format_datetime(instant.replace(microsecond=0))


def parse_filter_date(text: str) -> datetime | None:
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC)
    return None


def message_resource(message: FakeMessage) -> dict[str, Any]:
    """Twilio's Message resource JSON for ``message``."""
    uri = f"/{API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}"
    stamp = rfc2822(message.date_created)
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "messaging_service_sid": message.messaging_service_sid,
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "status": message.status,
        "num_segments": str(message.num_segments),
        "num_media": "0",
        "direction": "outbound-api",
        "api_version": API_VERSION,
        "price": None,
        "price_unit": "USD",
        "error_code": message.error_code,
        "error_message": None,
        "date_created": stamp,
        "date_updated": stamp,
        "date_sent": stamp,
        "uri": uri + ".json",
        "subresource_uris": {
            "media": uri + "/Media.json",
            "feedback": uri + "/Feedback.json",
        },
    }


def filter_messages(
    rows: list[FakeMessage], query: dict[str, str]
) -> list[FakeMessage]:
    """Keep the rows a list request's To, From and DateSent filters match."""
    if "To" in query:
        rows = [m for m in rows if m.to == query["To"]]
    if "From" in query:
        rows = [m for m in rows if m.from_ == query["From"]]

    # A day-only value compares whole days, as Twilio documents.
    for key, keep in (
        ("DateSent", operator.eq),
        ("DateSent>", operator.ge),
        ("DateSent<", operator.le),
    ):
        text = query.get(key, "").lstrip("<>=").strip()
        value = parse_filter_date(text)
        if value is None:
            continue
        if len(text) == 10:
            rows = [m for m in rows if keep(m.date_created.date(), value.date())]
        else:
            rows = [m for m in rows if keep(m.date_created, value)]
    return rows
