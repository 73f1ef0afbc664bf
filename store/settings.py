"""Settings shared by every process, read once from config.toml and checked."""

import difflib
import os
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal

from store import setting_checks as checks
from store.durations import format_duration
from store.errors import ConfigError
from store.quiet import QuietHours

Backend = Literal["auto", "twilio", "outbox"]

DEFAULT_QUIET_HOURS = QuietHours(time(21, 0), time(8, 0))
DEFAULT_TEMPLATE = (
    "Hi {first_name}, this is a reminder of your appointment with {provider} "
    "at {practice} on {date} at {time}. Reply STOP to opt out."
)


SECRET_KEYS = ("account_sid", "auth_token", "api_key", "api_secret")


@dataclass(frozen=True)
class PracticeSettings:
    """Who the practice is; unset values fall back to the practice's record."""

    name: str | None = None
    timezone: str | None = None
    region: str | None = None
    id: int | None = None


@dataclass(frozen=True, repr=False)
class SmsSettings:
    """How texts leave: the gateway, the sender and Twilio's credentials.

    The credential fields (``SECRET_KEYS``) never appear in repr or str.
    """

    backend: Backend = "auto"
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base: str = "https://api.twilio.com"
    account_sid: str | None = None
    auth_token: str | None = None
    api_key: str | None = None
    api_secret: str | None = None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<hidden>' if value and name in SECRET_KEYS else repr(value)}"
            for name, value in vars(self).items()
        )
        return f"SmsSettings({shown})"

    __str__ = __repr__


@dataclass(frozen=True)
class SendingSettings:
    """How the daemon sends: quiet hours, retries, timeouts and batch sizes."""

    quiet_hours: QuietHours | None = DEFAULT_QUIET_HOURS
    max_lateness: timedelta = timedelta(hours=6)
    max_attempts: int = 5
    retry_backoff: timedelta = timedelta(seconds=30)
    reconcile_after: timedelta = timedelta(minutes=2)
    unknown_after: timedelta | None = None
    timeout: timedelta = timedelta(seconds=15)
    concurrency: int = 4
    processes: int = 2
    sweep_batch: int = 500

    @property
    def give_up_after(self) -> timedelta:
        """How long the daemon asks Twilio about an unanswered text before it
        is marked unknown for staff: ``unknown_after`` when set, otherwise ten
        times ``reconcile_after`` and at least 15 minutes."""
        if self.unknown_after is not None:
            return self.unknown_after
        return max(self.reconcile_after * 10, timedelta(minutes=15))


@dataclass(frozen=True)
class ReminderSettings:
    """When appointment reminders go out, longest offset first, and their text."""

    offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    min_lead: timedelta = timedelta(hours=1)
    template: str = DEFAULT_TEMPLATE


@dataclass(frozen=True)
class Settings:
    """Every setting, grouped as in config.toml."""

    practice: PracticeSettings = field(default_factory=PracticeSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)

    @classmethod
    def default(cls) -> "Settings":
        """Every setting at its default, as when config.toml does not exist."""
        return cls()


# The table of keys. Loading, SETTINGS_DOC and the config template all read
# it, so the documentation cannot drift from what is accepted.


@dataclass(frozen=True)
class _Key:
    section: str
    name: str
    check: Callable[[Any], Any]
    default: Any
    doc: str
    attr: str = ""


_KEYS = (
    _Key(
        "practice",
        "name",
        checks.practice_name,
        "",
        "The practice's name, used as {practice} in reminder texts "
        "(default: unset, the name stored for the practice).",
    ),
    _Key(
        "practice",
        "timezone",
        checks.timezone,
        "",
        "The practice's IANA time zone, such as America/New_York, used for "
        "appointment times and quiet hours (default: unset, the practice's "
        "stored zone).",
    ),
    _Key(
        "practice",
        "region",
        checks.region,
        "",
        "Two-letter region code, such as US, for reading phone numbers typed "
        "without a + country code (default: unset, the practice's stored region).",
    ),
    _Key(
        "practice",
        "id",
        checks.whole(1, 2**31 - 1),
        1,
        "Which practice in the database this install serves, when one database "
        "holds several (default: unset, the only practice).",
    ),
    _Key(
        "sms",
        "backend",
        checks.backend,
        "auto",
        "Where texts go: 'twilio', 'outbox' (written to outbox.jsonl, nothing "
        "sent) or 'auto', Twilio when credentials are set and the outbox "
        "otherwise (default: auto).",
    ),
    _Key(
        "sms",
        "from",
        checks.from_number,
        "",
        "The Twilio number texts come from, in E.164 form like +15005550006; "
        "set this or messaging_service_sid (default: unset).",
        attr="from_number",
    ),
    _Key(
        "sms",
        "messaging_service_sid",
        checks.sid("MG", "a Messaging Service SID", hidden=False),
        "",
        "A Twilio Messaging Service SID (MG...) to send through instead of one "
        "from number (default: unset).",
    ),
    _Key(
        "sms",
        "api_base",
        checks.api_base,
        "https://api.twilio.com",
        "The Twilio API address; change it only to point at a test server "
        "(default: https://api.twilio.com).",
    ),
    _Key(
        "sms",
        "account_sid",
        checks.sid("AC", "an Account SID", hidden=True),
        "",
        "The Twilio Account SID (AC...); if any credential is in this file it "
        "must be private, chmod 600 (default: unset).",
    ),
    _Key(
        "sms",
        "auth_token",
        checks.secret,
        "",
        "The Twilio auth token; safer in a systemd credential than here, and "
        "this file must be chmod 600 if it holds it (default: unset).",
    ),
    _Key(
        "sms",
        "api_key",
        checks.sid("SK", "an API key SID", hidden=True),
        "",
        "A Twilio API key SID (SK...) to use with api_secret instead of the "
        "auth token (default: unset).",
    ),
    _Key(
        "sms",
        "api_secret",
        checks.secret,
        "",
        "The secret of that API key; this file must be chmod 600 if it holds "
        "it (default: unset).",
    ),
    _Key(
        "sending",
        "quiet_hours",
        checks.quiet_hours,
        "21:00-08:00",
        "Practice-local hours when no text goes out, as start-end in 24-hour "
        'time, or "" for none (default: 21:00-08:00).',
    ),
    _Key(
        "sending",
        "max_lateness",
        checks.duration_between(timedelta(minutes=1), timedelta(days=7)),
        "6h",
        "How late after its time a text may still go out, say after an outage; "
        "later ones expire unsent (default: 6h).",
    ),
    _Key(
        "sending",
        "max_attempts",
        checks.whole(1, 20),
        5,
        "How many times to try a text before it is marked failed, 1 to 20 "
        "(default: 5).",
    ),
    _Key(
        "sending",
        "retry_backoff",
        checks.duration_between(timedelta(seconds=1), timedelta(hours=6)),
        "30s",
        "How long to wait before trying again after a temporary failure "
        "(default: 30s).",
    ),
    _Key(
        "sending",
        "reconcile_after",
        checks.duration_between(timedelta(seconds=10), timedelta(hours=6)),
        "2m",
        "How long a text may sit in 'sending' with no answer before the daemon "
        "asks Twilio whether it went out (default: 2m).",
    ),
    _Key(
        "sending",
        "unknown_after",
        checks.unset_or(
            checks.duration_between(timedelta(minutes=1), timedelta(days=7))
        ),
        "",
        "How long the daemon keeps asking Twilio about a text it cannot get an "
        "answer on before marking it unknown for staff to decide; longer than "
        "reconcile_after (default: unset, ten times reconcile_after and at "
        "least 15m).",
    ),
    _Key(
        "sending",
        "timeout",
        checks.duration_between(timedelta(seconds=1), timedelta(minutes=5)),
        "15s",
        "How long to wait for Twilio to answer one request (default: 15s).",
    ),
    _Key(
        "sending",
        "concurrency",
        checks.whole(1, 32),
        4,
        "How many texts the daemon sends at the same time, 1 to 32 (default: 4).",
    ),
    _Key(
        "sending",
        "processes",
        checks.whole(1, 16),
        2,
        "How many processes send a large backlog together: the daemon and the "
        "helpers it starts until the backlog is gone, 1 to 16; more than the "
        "computer's CPU cores gains nothing (default: 2).",
    ),
    _Key(
        "sending",
        "sweep_batch",
        checks.whole(1, 10000),
        500,
        "How many due texts the sweep claims at a time; it takes batches until "
        "none are due, 1 to 10000 (default: 500).",
    ),
    _Key(
        "reminders",
        "offsets",
        checks.offsets,
        ["24h", "2h"],
        "How long before an appointment each reminder goes out, each more "
        'than 0 and at most 7d, [] for none (default: ["24h", "2h"]).',
    ),
    _Key(
        "reminders",
        "min_lead",
        checks.duration_between(timedelta(0), timedelta(days=1)),
        "1h",
        "The least time before the appointment that a reminder moved past "
        "quiet hours may still go out, else it goes the evening before "
        "(default: 1h).",
    ),
    _Key(
        "reminders",
        "template",
        checks.reminder_template,
        DEFAULT_TEMPLATE,
        "The reminder text with {first_name} {practice} {provider} {date} "
        "{time}; it must not mention CANCEL, END, QUIT, UNSUBSCRIBE or STOPALL "
        "(default: the text shown).",
    ),
)

_SECTIONS = {
    "practice": PracticeSettings,
    "sms": SmsSettings,
    "sending": SendingSettings,
    "reminders": ReminderSettings,
}

SETTINGS_DOC: dict[str, str] = {f"{k.section}.{k.name}": k.doc for k in _KEYS}
"""Every config.toml key, as 'section.key', with a one-sentence description."""


# Loading


def load_settings(path: Path) -> Settings:
    """Read and check config.toml; a missing file gives every default.

    Raises ConfigError, naming the file and what is wrong, when the file
    cannot be read, is not valid TOML (with the line), has an unknown section
    or key, has a value outside what the key allows (naming [section] key and
    the allowed values), or holds credentials while other users can read it.
    Credential values never appear in a message.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read()
    except FileNotFoundError:
        return Settings.default()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc

    try:
        data = tomllib.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text; save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML: {exc}") from exc

    _check_private(path, mode, data)
    return _settings_from(data, str(path))


def render_config_template(
    name: str | None, timezone: str | None, region: str | None
) -> str:
    """Return a commented config.toml for a new practice.

    The [practice] name, timezone and region are filled in; every other key
    appears commented out with its default and its description. Raises
    ConfigError if one of the three given values would not load.
    """
    given = {"name": name, "timezone": timezone, "region": region}
    practice = _section_from(
        "practice",
        {key: value for key, value in given.items() if value is not None},
        "config.toml",
    )
    lines = [
        "# frontdesk settings.",
        "#",
        "# A line starting with '#' is a comment. To change a setting, remove",
        "# the '#' in front of it and edit the value; a setting left commented",
        "# out keeps the default shown. Times are the practice's local time.",
        "# If you put Twilio credentials here, make the file private with",
        "# 'chmod 600 config.toml', or frontdesk will refuse to start.",
    ]

    for section in _SECTIONS:
        lines += ["", f"[{section}]"]
        for key in _KEYS:
            if key.section != section:
                continue
            lines += textwrap.wrap(
                key.doc, 76, initial_indent="# ", subsequent_indent="# "
            )
            if section == "practice" and practice.get(key.name):
                lines.append(f"{key.name} = {_toml(practice[key.name])}")
            else:
                lines.append(f"# {key.name} = {_toml(key.default)}")
    text = "\n".join(lines) + "\n"

    _settings_from(tomllib.loads(text), "config.toml")
    return text


def _check_private(path: Path, mode: int, data: dict[str, Any]) -> None:
    sms = data.get("sms")
    held = [k for k in SECRET_KEYS if isinstance(sms, dict) and sms.get(k)]
    if held and os.name == "posix" and mode & 0o044:
        raise ConfigError(
            f"{path}: holds Twilio credentials ({', '.join(held)}) but other "
            f"users can read it (mode {mode & 0o777:04o}). Run 'chmod 600 {path}' "
            "so only its owner can, or move the credentials out of the file."
        )


def _settings_from(data: dict[str, Any], source: str) -> Settings:
    sections: dict[str, Any] = {}
    for section, table in data.items():
        if section not in _SECTIONS:
            raise ConfigError(
                f"{source}: unknown {_what(table)} {section!r}"
                f"{_suggest(section, _SECTIONS)}; the sections are "
                + ", ".join(f"[{name}]" for name in _SECTIONS)
            )
        if not isinstance(table, dict):
            raise ConfigError(
                f"{source}: {section!r} must be a section, written [{section}] "
                "on its own line, with its settings below it"
            )
        sections[section] = _section_from(section, table, source)

    settings = Settings(
        **{
            section: kind(**sections.get(section, {}))
            for section, kind in _SECTIONS.items()
        }
    )
    _check_together(settings, source)
    return settings


def _check_together(settings: Settings, source: str) -> None:
    """Settings that are each fine alone but wrong side by side."""
    sending = settings.sending
    if sending.reconcile_after <= sending.timeout:
        raise ConfigError(
            f"{source}: [sending] reconcile_after "
            f"({format_duration(sending.reconcile_after)}) must be longer than "
            f"timeout ({format_duration(sending.timeout)}): a text still waiting "
            "for Twilio's answer would be taken for lost and could be sent twice"
        )
    wait = sending.unknown_after
    if wait is not None and wait <= sending.reconcile_after:
        raise ConfigError(
            f"{source}: [sending] unknown_after ({format_duration(wait)}) must be "
            f"longer than reconcile_after ({format_duration(sending.reconcile_after)}"
            "): the daemon must get to ask Twilio before it gives up asking"
        )


def _section_from(section: str, table: dict[str, Any], source: str) -> dict[str, Any]:
    keys = {key.name: key for key in _KEYS if key.section == section}
    values: dict[str, Any] = {}
    for name, value in table.items():
        key = keys.get(name)
        if key is None:
            raise ConfigError(
                f"{source}: [{section}] has unknown key {name!r}"
                f"{_suggest(name, keys)}; the keys there are {', '.join(keys)}"
            )
        try:
            checked = key.check(value)
        except ValueError as exc:
            # The check's own error holds nothing beyond this message.
            raise ConfigError(f"{source}: [{section}] {name} {exc}") from None
        values[key.attr or key.name] = checked
    return values


def _what(value: Any) -> str:
    return "section" if isinstance(value, dict) else "top-level key"


def _suggest(word: str, choices: Any) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _toml(value: Any) -> str:
    if isinstance(value, str):
        escaped = "".join(
            "\\" + char
            if char in '"\\'
            else f"\\u{ord(char):04x}"
            if ord(char) < 0x20 or ord(char) == 0x7F
            else char
            for char in value
        )
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return str(value)
