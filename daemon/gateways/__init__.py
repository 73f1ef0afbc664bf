"""Send gateways, and ``build_gateway`` to choose one from the settings."""

import logging
import os
from collections.abc import Mapping

from store.errors import ConfigError
from store.home import Home
from store.settings import Settings

from .base import (
    Accepted,
    ErrorKind,
    Gateway,
    GatewayError,
    Outgoing,
    classify,
)
from .credentials import TwilioCredentials, load_twilio_credentials
from .outbox import OutboxGateway
from .twilio import TwilioGateway

__all__ = [
    "Accepted",
    "ErrorKind",
    "Gateway",
    "GatewayError",
    "OutboxGateway",
    "Outgoing",
    "TwilioCredentials",
    "TwilioGateway",
    "build_gateway",
    "classify",
    "load_twilio_credentials",
]

log = logging.getLogger(__name__)

_NO_CREDENTIALS = (
    "[sms] backend is 'twilio' but no Twilio credentials were found. Set "
    "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and "
    "TWILIO_API_SECRET), or the systemd credentials twilio_account_sid and "
    "twilio_auth_token, or [sms] account_sid and auth_token in config.toml."
)


def build_gateway(
    settings: Settings, home: Home, env: Mapping[str, str] = os.environ
) -> Gateway:
    """Return the gateway the settings ask for.

    Raises ConfigError for an unknown backend, for 'twilio' without
    credentials, and for Twilio credentials that are incomplete or have no
    sending number, even under 'auto': half-configured Twilio is a mistake
    to report, not a reason to fall back to the outbox silently.
    """
    sms = settings.sms
    if sms.backend not in ("auto", "twilio", "outbox"):
        raise ConfigError(
            "config.toml: [sms] backend must be 'auto', 'twilio' or 'outbox', "
            f"got {sms.backend!r}"
        )

    if sms.backend == "outbox":
        return _outbox(home)

    credentials = load_twilio_credentials(sms, env, home.credentials_dir)
    if credentials is None:
        if sms.backend == "twilio":
            raise ConfigError(_NO_CREDENTIALS)
        log.info("no Twilio credentials found; using the outbox")
        return _outbox(home)

    gateway = TwilioGateway(
        credentials,
        from_number=sms.from_number,
        messaging_service_sid=sms.messaging_service_sid,
        api_base=sms.api_base,
        timeout=settings.sending.timeout.total_seconds(),
    )
    log.info("sending through Twilio: %s", credentials.describe())
    return gateway


def _outbox(home: Home) -> OutboxGateway:
    log.info("texts go to the outbox file %s, not to patients", home.outbox)
    return OutboxGateway(home.outbox)
