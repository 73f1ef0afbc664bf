"""Twilio credentials, each from the environment, systemd or config.toml."""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import ConfigError

log = logging.getLogger(__name__)

# setting name -> (environment variable, systemd credential file name)
_SOURCES = {
    "account_sid": ("TWILIO_ACCOUNT_SID", "twilio_account_sid"),
    "auth_token": ("TWILIO_AUTH_TOKEN", "twilio_auth_token"),
    "api_key": ("TWILIO_API_KEY", "twilio_api_key"),
    "api_secret": ("TWILIO_API_SECRET", "twilio_api_secret"),
}


@dataclass(frozen=True)
class TwilioCredentials:
    """How to sign in to Twilio: the account, and a user/password pair.

    ``username`` is the account SID (auth-token sign-in) or the API key SID.
    ``sources`` says where each value came from, for ``frontdesk status``.
    The password never appears in the repr.
    """

    account_sid: str
    username: str
    password: str = field(repr=False)
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def uses_api_key(self) -> bool:
        return self.username != self.account_sid

    def describe(self) -> str:
        """Say which values were used and where from, without any secret."""
        kind = "API key" if self.uses_api_key else "auth token"
        where = ", ".join(f"{name} from {source}" for name, source in self.sources)
        return f"Twilio account {self.account_sid} with an {kind} ({where})"


def load_twilio_credentials(
    sms_settings: Any,
    env: Mapping[str, str] = os.environ,
    credentials_dir: Path | None = None,
) -> TwilioCredentials | None:
    """Find Twilio credentials, or return None when none are configured.

    Each value is looked up on its own, first in the environment, then in
    the systemd credentials folder, then in config.toml's [sms] table, so the
    account SID may sit in the config and the token in systemd.
    An API key pair (with the account SID) wins over an auth token when both
    are complete. ``credentials_dir`` defaults to ``$CREDENTIALS_DIRECTORY``.

    Raises ConfigError when some values are set but not a complete pair,
    naming what is missing and where it may go.
    """
    if credentials_dir is None and env.get("CREDENTIALS_DIRECTORY"):
        credentials_dir = Path(env["CREDENTIALS_DIRECTORY"])

    found: dict[str, tuple[str, str]] = {}
    for name, (variable, file_name) in _SOURCES.items():
        value = _lookup(name, variable, file_name, sms_settings, env, credentials_dir)
        if value is not None:
            found[name] = value

    if not found:
        return None

    if all(name in found for name in ("account_sid", "api_key", "api_secret")):
        names: tuple[str, ...] = ("account_sid", "api_key", "api_secret")
    elif all(name in found for name in ("account_sid", "auth_token")):
        names = ("account_sid", "auth_token")
        if "api_key" in found or "api_secret" in found:
            log.warning("Twilio API key is incomplete; signing in with the auth token")
    else:
        raise ConfigError(_incomplete(found))

    credentials = TwilioCredentials(
        account_sid=found["account_sid"][0],
        username=found[names[1]][0] if len(names) == 3 else found["account_sid"][0],
        password=found[names[-1]][0],
        sources=tuple((name, found[name][1]) for name in names),
    )
    _check_shape(credentials)
    return credentials


def _lookup(
    name: str,
    variable: str,
    file_name: str,
    sms_settings: Any,
    env: Mapping[str, str],
    credentials_dir: Path | None,
) -> tuple[str, str] | None:
    """Return (value, where it came from) for one setting, or None."""
    value = env.get(variable, "").strip()
    if value:
        return value, f"environment {variable}"

    if credentials_dir is not None:
        path = credentials_dir / file_name
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the systemd credential {file_name} in "
                f"{credentials_dir}: {exc.strerror}"
            ) from exc
        if value:
            return value, f"systemd credential {file_name}"

    value = (getattr(sms_settings, name, None) or "").strip()
    if value:
        return value, f"config.toml [sms] {name}"
    return None


def _incomplete(found: Mapping[str, tuple[str, str]]) -> str:
    have = ", ".join(f"{name} ({where})" for name, (_, where) in found.items())
    wanted: tuple[str, ...] = ("account_sid", "auth_token")
    if "api_key" in found or "api_secret" in found:
        wanted = ("account_sid", "api_key", "api_secret")
    missing = [name for name in wanted if name not in found]
    places = "; ".join(
        f"{name} as {_SOURCES[name][0]}, systemd credential {_SOURCES[name][1]} "
        f"or [sms] {name}"
        for name in missing
    )
    return (
        f"Twilio credentials are incomplete: found {have} but not "
        f"{', '.join(missing)}. Set {places}."
    )


def _check_shape(credentials: TwilioCredentials) -> None:
    # A swapped pair is a common paste mistake; say so instead of a 401 later.
    if not credentials.account_sid.startswith("AC"):
        raise ConfigError(
            "The Twilio account SID must start with 'AC' "
            f"(it came from {dict(credentials.sources)['account_sid']})."
        )
    if credentials.uses_api_key and not credentials.username.startswith("SK"):
        raise ConfigError(
            "The Twilio API key must start with 'SK' "
            f"(it came from {dict(credentials.sources)['api_key']})."
        )
