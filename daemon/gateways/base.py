"""What a send gateway takes, returns and raises, and how errors are classed."""

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One text to hand over: the scheduled message's id, number and body.

    ``claimed_at`` is the aware UTC instant the pipeline claimed the row; it
    bounds the reconcile search.
    """

    message_id: int
    to: str
    body: str
    claimed_at: datetime

    def __repr__(self) -> str:
        # Reprs end up in tracebacks and logs, which must not hold numbers.
        return f"Outgoing(message_id={self.message_id})"


@dataclass(frozen=True)
class Accepted:
    """The provider took the text: its id, and segments when it said so."""

    provider_sid: str
    segments: int | None
    gateway: str


class ErrorKind(enum.Enum):
    """What a failed send means for the send pipeline's next step."""

    RETRY = "retry"
    """The provider surely did not process the request: send again later."""

    AMBIGUOUS = "ambiguous"
    """The provider may have accepted it: reconcile before sending again."""

    PERMANENT = "permanent"
    """This text cannot be sent as it is: fail it and tell staff."""

    OPTED_OUT = "opted_out"
    """The patient unsubscribed (replied STOP): never send until they opt in."""

    AUTH = "auth"
    """The credentials were refused: not this text's fault; pause sending."""


@dataclass(frozen=True)
class ErrorRule:
    """How one provider error code is handled and explained to staff."""

    kind: ErrorKind
    staff_message: str


_CHECK_NUMBER = "Check the number with the patient."
_ASK_IT = "Ask your IT person to"

# Twilio refines its codes over time, so unknown codes fall back on the HTTP
# status (see ``classify``) rather than failing loudly.
ERROR_RULES: dict[int, ErrorRule] = {
    20003: ErrorRule(
        ErrorKind.AUTH,
        "Twilio refused the practice's account credentials. "
        f"{_ASK_IT} check the Twilio account SID and auth token (or API key).",
    ),
    20429: ErrorRule(
        ErrorKind.RETRY,
        "Twilio is busy right now; the text will be tried again shortly.",
    ),
    20500: ErrorRule(
        ErrorKind.AMBIGUOUS,
        "Twilio had an internal error; frontdesk will check whether the text "
        "went out before trying again.",
    ),
    20503: ErrorRule(
        ErrorKind.AMBIGUOUS,
        "Twilio was unavailable; frontdesk will check whether the text went "
        "out before trying again.",
    ),
    21211: ErrorRule(
        ErrorKind.PERMANENT,
        f"The phone number is not valid for texting. {_CHECK_NUMBER}",
    ),
    21212: ErrorRule(
        ErrorKind.PERMANENT,
        f"The practice's sending number is not valid. {_ASK_IT} check the "
        "[sms] from setting.",
    ),
    21266: ErrorRule(
        ErrorKind.PERMANENT,
        f"The patient's number is the practice's own sending number. {_CHECK_NUMBER}",
    ),
    21408: ErrorRule(
        ErrorKind.PERMANENT,
        "Texts to this country are turned off in the practice's Twilio account. "
        f"{_ASK_IT} enable it under Geo Permissions, then retry the text.",
    ),
    21602: ErrorRule(
        ErrorKind.PERMANENT,
        "The text is empty. Write the message, then send it again.",
    ),
    21603: ErrorRule(
        ErrorKind.PERMANENT,
        f"No sending number is set up. {_ASK_IT} set [sms] from or "
        "messaging_service_sid.",
    ),
    21604: ErrorRule(
        ErrorKind.PERMANENT,
        "The text has no phone number to go to. Add the patient's mobile number.",
    ),
    21606: ErrorRule(
        ErrorKind.PERMANENT,
        "The practice's sending number cannot text this number. "
        f"{_ASK_IT} check the [sms] from number in Twilio.",
    ),
    21608: ErrorRule(
        ErrorKind.PERMANENT,
        "The Twilio account is a trial and can only text verified numbers. "
        f"{_ASK_IT} upgrade the account or verify the number.",
    ),
    21610: ErrorRule(
        ErrorKind.OPTED_OUT,
        "The patient has unsubscribed (replied STOP), so texts cannot reach "
        "them. Ask them to reply START, then record their consent again.",
    ),
    21611: ErrorRule(
        ErrorKind.RETRY,
        "Too many texts are waiting at Twilio; this one will be tried again shortly.",
    ),
    21612: ErrorRule(
        ErrorKind.PERMANENT,
        "Twilio cannot reach this number by text from the practice's number. "
        f"{_CHECK_NUMBER}",
    ),
    21614: ErrorRule(
        ErrorKind.PERMANENT,
        f"Not a mobile number: this number cannot receive texts. {_CHECK_NUMBER}",
    ),
    21617: ErrorRule(
        ErrorKind.PERMANENT,
        "The text is longer than 1600 characters. Shorten it, then send it again.",
    ),
    21635: ErrorRule(
        ErrorKind.PERMANENT,
        f"This number is a landline and cannot receive texts. {_CHECK_NUMBER}",
    ),
    21701: ErrorRule(
        ErrorKind.PERMANENT,
        f"The messaging service is not valid. {_ASK_IT} check the [sms] "
        "messaging_service_sid setting.",
    ),
}

_BY_STATUS = {
    401: ERROR_RULES[20003],
    403: ERROR_RULES[20003],
    429: ERROR_RULES[20429],
}

_CARRIER_REFUSED = ErrorRule(
    ErrorKind.PERMANENT,
    "The carrier refused the text. Check the number with the patient, or "
    "call them instead.",
)

_REFUSED = ErrorRule(
    ErrorKind.PERMANENT,
    "Twilio refused the text. Ask your IT person to look the error code up "
    "at twilio.com/docs/errors.",
)


def classify(status: int | None, code: int | None) -> ErrorRule:
    """Return how a provider error with this HTTP status and code is handled.

    A 5xx is always AMBIGUOUS and 401/403/429 follow their status, whatever
    the code says, because the status decides whether the request counted.
    Otherwise the code's rule applies, and an unknown code is PERMANENT.
    """
    if status is not None and status >= 500:
        return ERROR_RULES[20503 if status == 503 else 20500]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if code in ERROR_RULES:
        return ERROR_RULES[code]
    if code is not None and 30000 <= code < 31000:
        return _CARRIER_REFUSED
    return _REFUSED


class GatewayError(Exception):
    """A send or a reconcile failed; ``kind`` says what may happen next.

    ``staff_message`` is a sentence the front desk can act on. ``str()``
    adds the provider's code, and never holds credentials, phone numbers or
    the body, so it is safe to log and to store on the message.
    """

    def __init__(
        self,
        kind: ErrorKind,
        staff_message: str,
        *,
        code: int | None = None,
        status: int | None = None,
    ) -> None:
        self.kind = kind
        self.code = code
        self.status = status
        self.staff_message = staff_message
        super().__init__(str(self))

    @classmethod
    def from_provider(cls, status: int | None, code: int | None) -> "GatewayError":
        """Build the error for a provider answer, using ``classify``."""
        rule = classify(status, code)
        return cls(rule.kind, rule.staff_message, code=code, status=status)

    def __str__(self) -> str:
        if self.code is None:
            return self.staff_message
        return f"{self.staff_message} (error {self.code})"


class Gateway(Protocol):
    """Hands texts to a provider; the send pipeline's only view of one."""

    name: str

    def send(self, outgoing: Outgoing) -> Accepted:
        """Hand over one text; raise GatewayError when it was not accepted."""
        ...

    def find_sent(
        self,
        to: str,
        since: datetime,
        body: str,
        message_id: int,
        exclude: Collection[str] = (),
    ) -> Accepted | None:
        """Return the provider's record of this text if it was accepted since
        ``since``, or None when it surely was not. Provider ids in ``exclude``
        belong to other texts already recorded, and are passed over.

        Raises GatewayError when the provider cannot answer.
        """
        ...

    def close(self) -> None:
        """Release connections and files; the gateway is not used after."""
        ...
