"""The Twilio gateway: sends with the official client, reconciles by listing."""

import json
import logging
import os
import threading
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from store.errors import ConfigError

from . import smart_encoding
from .base import Accepted, ErrorKind, GatewayError, Outgoing
from .credentials import TwilioCredentials

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.twilio.com"

RECONCILE_SLACK = timedelta(seconds=60)
"""How far before the claim a reconcile still counts a match: Twilio's clock
may lag ours, and its timestamps have whole seconds only."""

RECONCILE_LIMIT = 100
RECONCILE_SCAN_MARGIN = timedelta(hours=1)
RECONCILE_MAX_SCAN = 5000
"""Newest messages to one number read when reconciling."""

_NOT_CONNECTED = (
    "Could not connect to Twilio, so the text was not sent; it will be tried "
    "again. If this keeps happening, check the practice's internet connection."
)
_NO_ANSWER = (
    "Twilio did not answer in time; frontdesk will check whether the text "
    "went out before trying again."
)
_BROKEN = (
    "The connection to Twilio broke before it answered; frontdesk will check "
    "whether the text went out before trying again."
)
_UNREADABLE = (
    "Twilio's answer could not be read; frontdesk will check whether the text "
    "went out before trying again."
)


class TwilioGateway:
    """Sends texts with Twilio's Messages API; safe to share between threads.

    Each thread gets its own client and connection pool. ``api_base`` is the
    one setting that says where requests go: TWILIO_REGION and TWILIO_EDGE
    are ignored, because the client would rewrite any other host with them.
    """

    name = "twilio"

    def __init__(
        self,
        credentials: TwilioCredentials,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 15.0,
        reconcile_limit: int = RECONCILE_LIMIT,
    ) -> None:
        """Raises ConfigError without a sender, or with a bad api_base or
        timeout."""
        if not from_number and not messaging_service_sid:
            raise ConfigError(
                "config.toml: [sms] needs `from` (the practice's Twilio number) "
                "or `messaging_service_sid` to send texts through Twilio."
            )
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                "config.toml: [sms] api_base must be a URL such as "
                f"https://api.twilio.com, got {api_base!r}"
            )
        if timeout <= 0:
            raise ConfigError(
                f"[sending] timeout must be more than 0 seconds, got {timeout}"
            )

        self._credentials = credentials
        self._from = from_number
        self._service_sid = messaging_service_sid
        self._api_base = api_base.rstrip("/")
        self._timeout = timeout
        self._reconcile_limit = reconcile_limit
        self._local = threading.local()
        self._lock = threading.Lock()
        self._http_clients: list[TwilioHttpClient] = []

        # Both log request URLs, patients' numbers included: twilio at INFO,
        # urllib3 at DEBUG.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)
        ignored = [v for v in ("TWILIO_REGION", "TWILIO_EDGE") if os.environ.get(v)]
        if ignored:
            log.warning("ignoring %s: set [sms] api_base instead", ", ".join(ignored))

    def __repr__(self) -> str:
        return f"TwilioGateway({self._credentials!r}, api_base={self._api_base!r})"

    def send(self, outgoing: Outgoing) -> Accepted:
        """Hand one text to Twilio and return its SID.

        Raises GatewayError; its kind says whether Twilio may have taken it.
        """
        params: dict[str, Any] = {"to": outgoing.to, "body": outgoing.body}
        if self._service_sid:
            params["messaging_service_sid"] = self._service_sid
        if self._from:
            params["from_"] = self._from
        log.debug("message %s: sending body %r", outgoing.message_id, outgoing.body)

        try:
            message = self._client().messages.create(**params)
        except (TwilioException, requests.RequestException, ValueError) as exc:
            error = _translate(exc)
            log.info(
                "message %s not accepted by twilio: %s, code %s",
                outgoing.message_id,
                error.kind.value,
                error.code,
            )
            # The provider's exception text holds the patient's number, so
            # it is not chained where a traceback would log it.
            raise error from None

        accepted = Accepted(message.sid, _segments(message.num_segments), self.name)
        log.debug(
            "message %s accepted by twilio as %s", outgoing.message_id, message.sid
        )
        return accepted

    def find_sent(
        self,
        to: str,
        since: datetime,
        body: str,
        message_id: int,
        exclude: Collection[str] = (),
    ) -> Accepted | None:
        """Return Twilio's record of this text if it was created since
        ``since`` (less ``RECONCILE_SLACK``), the newest one if several.

        Matches on number and body (see ``smart_encoding``), paging back through
        the texts to that number until well before ``since``, and passes over
        the ids in ``exclude`` (texts already recorded for other rows). Raises
        GatewayError when Twilio cannot be asked, or holds too many texts to
        that number to check.
        """
        cutoff = since - RECONCILE_SLACK
        # Twilio lists newest first; once a page reaches well before the claim
        # there is nothing older to find. The margin allows for the order of
        # queued messages, which have no send date yet.
        stop_at = cutoff - RECONCILE_SCAN_MARGIN
        # Ours as sent, or as Smart Encoding may have rewritten it.
        ours = smart_encoding.pattern_for(body)

        matches = []
        try:
            listed = self._client().messages.stream(
                to=to, page_size=self._reconcile_limit
            )
            for scanned, m in enumerate(listed, start=1):
                created = (
                    m.date_created if isinstance(m.date_created, datetime) else None
                )
                if created is not None and created < stop_at:
                    break
                if scanned > RECONCILE_MAX_SCAN:
                    raise GatewayError(
                        ErrorKind.AMBIGUOUS,
                        "Too many texts to this number to check whether this one "
                        "went out.",
                    )
                if (
                    m.body is not None
                    and ours.fullmatch(m.body)
                    and m.sid not in exclude
                    and created is not None
                    and created >= cutoff
                    and (m.direction or "outbound").startswith("outbound")
                ):
                    matches.append(m)
        except (TwilioException, requests.RequestException, ValueError) as exc:
            error = _translate(exc)
            log.info(
                "message %s: could not ask twilio whether it was sent: %s, code %s",
                message_id,
                error.kind.value,
                error.code,
            )
            raise error from None

        if not matches:
            log.info("message %s: twilio has no record of it", message_id)
            return None

        newest = max(matches, key=lambda m: m.date_created)
        log.info("message %s: twilio already has it as %s", message_id, newest.sid)
        return Accepted(newest.sid, _segments(newest.num_segments), self.name)

    def close(self) -> None:
        """Close every thread's connection pool."""
        with self._lock:
            http_clients, self._http_clients = self._http_clients, []
        for http_client in http_clients:
            if http_client.session is not None:
                http_client.session.close()
        self._local = threading.local()

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is not None:
            return client

        http_client = TwilioHttpClient(timeout=self._timeout)
        client = Client(
            self._credentials.username,
            self._credentials.password,
            account_sid=self._credentials.account_sid,
            http_client=http_client,
        )
        client.region = None
        client.edge = None
        client.api.base_url = self._api_base

        with self._lock:
            self._http_clients.append(http_client)
        self._local.client = client
        return client


def _segments(num_segments: str | None) -> int | None:
    # A messaging service answers "0" until it has encoded the text.
    try:
        count = int(num_segments or 0)
    except ValueError:
        return None
    return count or None


def _translate(exc: Exception) -> GatewayError:
    """Turn a client or transport failure into a GatewayError."""
    if isinstance(exc, TwilioException):
        status, code = _status_and_code(exc)
        if status is None:
            return GatewayError(ErrorKind.AMBIGUOUS, _UNREADABLE, code=code)
        return GatewayError.from_provider(status, code)

    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return GatewayError(ErrorKind.RETRY, _NOT_CONNECTED)
    if isinstance(exc, requests.Timeout):
        return GatewayError(ErrorKind.AMBIGUOUS, _NO_ANSWER)
    if isinstance(exc, requests.RequestException):
        return GatewayError(ErrorKind.AMBIGUOUS, _BROKEN)
    return GatewayError(ErrorKind.AMBIGUOUS, _UNREADABLE)


def _never_connected(exc: Exception) -> bool:
    """True when no connection was made, so the request cannot have counted.

    requests wraps a refused connection or a failed DNS lookup as
    ConnectionError(MaxRetryError(reason=NewConnectionError)), while a
    connection dropped after sending is ConnectionError(ProtocolError).
    """
    if not isinstance(exc, requests.ConnectionError) or not exc.args:
        return False
    cause = exc.args[0]
    return isinstance(cause, MaxRetryError) and isinstance(
        cause.reason, ConnectTimeoutError
    )


def _status_and_code(exc: TwilioException) -> tuple[int | None, int | None]:
    """Read HTTP status and Twilio code from any of the client's exceptions.

    A failed list page raises a bare TwilioException carrying the response.
    """
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        return _int(exc.status), _int(exc.code)

    for arg in exc.args:
        if isinstance(arg, Response):
            try:
                code = json.loads(arg.text).get("code")
            except (ValueError, AttributeError):
                code = None
            return arg.status_code, _int(code)
    return None, None


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
