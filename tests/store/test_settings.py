"""config.toml: defaults, checks with clear messages, secrets, and the template."""

import dataclasses
import os
import re
import tomllib
from datetime import time, timedelta
from pathlib import Path

import pytest

from store.errors import ConfigError
from store.quiet import QuietHours
from store.settings import (
    DEFAULT_TEMPLATE,
    SETTINGS_DOC,
    PracticeSettings,
    ReminderSettings,
    SendingSettings,
    Settings,
    SmsSettings,
    load_settings,
    render_config_template,
)

TOKEN = "f00dfacecafe1234beadfeed5678abcd"


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def load_error(tmp_path: Path, text: str, mode: int = 0o600) -> str:
    path = write(tmp_path, text, mode)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def uncomment_all(text: str) -> str:
    return re.sub(r"^# (\w+ = )", r"\1", text, flags=re.MULTILINE)


# Defaults


def test_missing_file_gives_every_default(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nope.toml") == Settings.default()


def test_empty_file_gives_every_default(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "")) == Settings.default()


def test_defaults_match_the_agreed_values() -> None:
    settings = Settings.default()

    assert settings.practice == PracticeSettings(None, None, None, None)
    assert settings.sms.backend == "auto"
    assert settings.sms.api_base == "https://api.twilio.com"
    assert settings.sending.quiet_hours == QuietHours(time(21), time(8))
    assert settings.sending.max_lateness == timedelta(hours=6)
    assert settings.sending.max_attempts == 5
    assert settings.sending.retry_backoff == timedelta(seconds=30)
    assert settings.sending.reconcile_after == timedelta(minutes=2)
    assert settings.sending.unknown_after is None
    assert settings.sending.give_up_after == timedelta(minutes=20)
    assert settings.sending.timeout == timedelta(seconds=15)
    assert settings.sending.concurrency == 4
    assert settings.sending.sweep_batch == 500
    assert settings.reminders.offsets == (timedelta(hours=24), timedelta(hours=2))
    assert settings.reminders.min_lead == timedelta(hours=1)
    assert settings.reminders.template == DEFAULT_TEMPLATE
    assert "CANCEL" not in DEFAULT_TEMPLATE


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.default().sending.max_attempts = 9  # type: ignore[misc]


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [practice]
        name = "Smile Dental"
        timezone = "America/New_York"
        region = "us"
        id = 3

        [sms]
        backend = "twilio"
        from = "+15005550006"
        api_base = "http://127.0.0.1:8765/"
        account_sid = "AC0123456789abcdef0123456789abcdef"
        auth_token = "TOKEN"

        [sending]
        quiet_hours = "20:30-07:45"
        max_attempts = 3
        retry_backoff = "1m"

        [reminders]
        offsets = ["2h", "48h", "1d"]
        min_lead = "30m"
        template = '''Hi {first_name}, see you {date} at {time}.
        Reply STOP to opt out.'''
        """.replace("TOKEN", TOKEN),
    )

    settings = load_settings(path)

    assert settings.practice == PracticeSettings(
        "Smile Dental", "America/New_York", "US", 3
    )
    assert settings.sms.backend == "twilio"
    assert settings.sms.from_number == "+15005550006"
    assert settings.sms.api_base == "http://127.0.0.1:8765"
    assert settings.sms.auth_token == TOKEN
    assert settings.sending.quiet_hours == QuietHours(time(20, 30), time(7, 45))
    assert settings.sending.max_attempts == 3
    assert settings.sending.retry_backoff == timedelta(minutes=1)
    assert settings.sending.timeout == timedelta(seconds=15)
    assert settings.reminders.offsets == (
        timedelta(days=2),
        timedelta(days=1),
        timedelta(hours=2),
    )
    assert settings.reminders.min_lead == timedelta(minutes=30)
    assert "\n" in settings.reminders.template


def test_empty_quiet_hours_turns_them_off(tmp_path: Path) -> None:
    path = write(tmp_path, '[sending]\nquiet_hours = ""\n')

    assert load_settings(path).sending.quiet_hours is None


def test_empty_offsets_means_no_reminders(tmp_path: Path) -> None:
    path = write(tmp_path, "[reminders]\noffsets = []\n")

    assert load_settings(path).reminders.offsets == ()


def test_empty_optional_text_means_unset(tmp_path: Path) -> None:
    path = write(tmp_path, '[practice]\nname = ""\n[sms]\nfrom = ""\n')

    settings = load_settings(path)

    assert settings.practice.name is None
    assert settings.sms.from_number is None


@pytest.mark.parametrize(
    ("sending", "give_up"),
    [
        ("", timedelta(minutes=20)),
        ('reconcile_after = "30m"', timedelta(hours=5)),
        ('reconcile_after = "1m"', timedelta(minutes=15)),
        ('unknown_after = ""', timedelta(minutes=20)),
        ('unknown_after = "45m"', timedelta(minutes=45)),
    ],
)
def test_the_unknown_give_up_follows_reconcile_after_unless_set(
    tmp_path: Path, sending: str, give_up: timedelta
) -> None:
    path = write(tmp_path, f"[sending]\n{sending}\n")

    assert load_settings(path).sending.give_up_after == give_up


# Bad values: every message names the file, [section] key and what is allowed


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[sending]\nmax_attempts = "abc"',
            "[sending] max_attempts must be a whole number from 1 to 20, got 'abc'",
        ),
        ("[sending]\nmax_attempts = 0", "[sending] max_attempts must be"),
        ("[sending]\nmax_attempts = 2.5", "from 1 to 20, got 2.5"),
        ("[sending]\nconcurrency = true", "[sending] concurrency must be a whole"),
        ("[sending]\nsweep_batch = 100000", "from 1 to 10000, got 100000"),
        ('[sending]\ntimeout = "2 hours"', "[sending] timeout must be a duration"),
        ('[sending]\ntimeout = "10m"', "[sending] timeout must be from 1s to 5m"),
        ("[sending]\nmax_lateness = 6", "[sending] max_lateness must be a duration"),
        ('[sending]\nretry_backoff = "-5s"', "[sending] retry_backoff must be"),
        ('[sending]\nreconcile_after = "1s"', "[sending] reconcile_after must be"),
        (
            '[sending]\nreconcile_after = "20s"\ntimeout = "30s"',
            "reconcile_after (20s) must be longer than timeout (30s)",
        ),
        (
            '[sending]\nreconcile_after = "30m"\nunknown_after = "20m"',
            "unknown_after (20m) must be longer than reconcile_after (30m)",
        ),
        ('[sending]\nunknown_after = "30s"', "got '30s' (or \"\" to leave it unset)"),
        ("[sending]\nprocesses = 0", "[sending] processes must be a whole number"),
        ('[sending]\nquiet_hours = "9pm-8am"', "[sending] quiet_hours must be"),
        ('[sending]\nquiet_hours = "21:00-21:00"', "different start and end"),
        (
            '[sending]\nquiet_hours = "08:00-21:00"',
            "this would send them at 03:00. Did you mean '21:00-08:00'?",
        ),
        ('[sms]\nbackend = "carrier-pigeon"', "one of 'auto', 'twilio' or 'outbox'"),
        ('[sms]\nfrom = "(212) 555-0134"', "[sms] from must be a phone number in"),
        ('[sms]\napi_base = "api.twilio.com"', "[sms] api_base must be a web"),
        ('[sms]\nmessaging_service_sid = "XY12"', "starts with 'MG', got 'XY12'"),
        ('[practice]\ntimezone = "Mars/Olympus"', "[practice] timezone must be an"),
        (
            '[practice]\ntimezone = "America/New_Yrok"',
            "did you mean 'America/New_York'",
        ),
        ('[practice]\ntimezone = "../../etc/passwd"', "IANA time zone"),
        ('[practice]\nregion = "USA"', "[practice] region must be a two-letter"),
        ('[practice]\nregion = "XX"', "region code such as 'US'"),
        ("[practice]\nid = -1", "[practice] id must be a whole number"),
        ("[practice]\nname = 7", "[practice] name must be the practice's name"),
        ('[practice]\nname = "a\\u0000b"', "[practice] name must be"),
        ('[reminders]\noffsets = "24h"', "[reminders] offsets must be a list"),
        ('[reminders]\noffsets = ["0s"]', "more than 0 and at most 7d, got '0s'"),
        ('[reminders]\noffsets = ["8d"]', "more than 0 and at most 7d, got '8d'"),
        ('[reminders]\noffsets = ["2h", "120m"]', "lists 2 h twice"),
        ('[reminders]\noffsets = ["soon"]', "must list durations like"),
        ('[reminders]\nmin_lead = "2d"', "[reminders] min_lead must be from 0s"),
        ('[reminders]\ntemplate = ""', "[reminders] template must not be empty"),
    ],
)
def test_bad_value_names_file_key_and_rule(
    tmp_path: Path, toml: str, expected: str
) -> None:
    message = load_error(tmp_path, toml + "\n")

    assert message.startswith(f"{tmp_path / 'config.toml'}: ")
    assert expected in message


def test_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[sending]\nmax_atempts = 3\n")

    assert "[sending] has unknown key 'max_atempts'" in message
    assert "did you mean 'max_attempts'?" in message
    assert "max_lateness" in message


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[reminder]\noffsets = []\n")

    assert "unknown section 'reminder'" in message
    assert "did you mean 'reminders'?" in message


def test_key_outside_any_section_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, 'timezone = "UTC"\n')

    assert "unknown top-level key 'timezone'" in message
    assert "[practice]" in message


def test_section_written_as_a_value_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "sending = 3\n")

    assert "'sending' must be a section, written [sending]" in message


def test_corrupt_toml_names_the_file_and_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[practice]\nname = "Smile\n\n[sms]\n')

    assert str(tmp_path / "config.toml") in message
    assert "not valid TOML" in message
    assert "line 2" in message


def test_repeated_section_is_corrupt_toml(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[sending]\n[sms]\n[sending]\n")

    assert "line 3" in message


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[practice]\nname = "Caf\xe9"\n')

    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path)


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('\ufeff[practice]\nname = "Café"\n'.encode())

    assert load_settings(path).practice.name == "Café"


def test_a_folder_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()

    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "config.toml")


# The reminder template


@pytest.mark.parametrize(
    "template",
    [
        "Reply CANCEL to cancel. Reply STOP to opt out.",
        "Need to change? reply cancel",
        "Text END to stop reminders",
        "Reply QUIT to opt out",
        "Reply Unsubscribe to opt out",
        "Reply STOPALL to opt out",
        "Hi {first_name}! (Cancel: call us)",
    ],
)
def test_template_refuses_carrier_keywords(tmp_path: Path, template: str) -> None:
    message = load_error(tmp_path, f'[reminders]\ntemplate = "{template}"\n')

    assert "[reminders] template contains" in message
    assert "opt-out" in message
    assert "Reply STOP" in message


@pytest.mark.parametrize(
    "template",
    [
        "Your visit is cancelled? Call us. Reply STOP to opt out.",
        "See you after the weekend, {first_name}.",
        "Hi {first_name}, {practice} sees you {date} at {time} with {provider}.",
        "Prices in {{braces}} are fine: {first_name}",
    ],
)
def test_template_accepts_ordinary_wording(tmp_path: Path, template: str) -> None:
    path = write(tmp_path, f'[reminders]\ntemplate = "{template}"\n')

    assert load_settings(path).reminders.template == template


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {name}", "uses {name}, which is not a placeholder"),
        ("Hi {0}", "uses {0}, which is not a placeholder"),
        ("Hi {}", "uses {}, which is not a placeholder"),
        ("Hi {first_name.__class__}", "uses {first_name.__class__}"),
        ("Hi {first_name", "'{' or '}' that is not part of a placeholder"),
        ("Hi first_name}", "'{' or '}' that is not part of a placeholder"),
        ("Hi {first_name!r}", "must write {first_name} plainly"),
        ("At {time:%H}", "must write {time} plainly"),
    ],
)
def test_template_placeholders_are_checked(
    tmp_path: Path, template: str, expected: str
) -> None:
    message = load_error(tmp_path, f"[reminders]\ntemplate = '{template}'\n")

    assert "[reminders] template" in message
    assert expected in message
    if "not a placeholder" in expected:
        assert "{first_name}, {practice}, {provider}, {date}, {time}" in message


def test_template_longer_than_an_sms_body_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, f'[reminders]\ntemplate = "{"a" * 1601}"\n')

    assert "at most 1600 characters" in message


# Credentials


SECRETS_FILE = f"""
[sms]
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "{TOKEN}"
api_key = "SK0123456789abcdef0123456789abcdef"
api_secret = "{TOKEN}"
"""


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_secrets_in_a_readable_file_are_refused(tmp_path: Path, mode: int) -> None:
    message = load_error(tmp_path, SECRETS_FILE, mode)

    assert "chmod 600" in message
    assert str(tmp_path / "config.toml") in message
    assert f"{mode:04o}" in message
    assert "auth_token" in message
    assert TOKEN not in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_secrets_in_a_private_file_are_accepted(tmp_path: Path, mode: int) -> None:
    settings = load_settings(write(tmp_path, SECRETS_FILE, mode))

    assert settings.sms.auth_token == TOKEN
    assert settings.sms.api_secret == TOKEN


def test_readable_file_without_secrets_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, '[sms]\nbackend = "outbox"\nauth_token = ""\n', 0o644)

    assert load_settings(path).sms.backend == "outbox"


def test_readable_check_comes_before_value_checks(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[sms]\nauth_token = "two words"\n', 0o644)

    assert "chmod 600" in message


def test_secrets_never_appear_in_repr_or_str(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, SECRETS_FILE))

    for shown in (repr(settings), str(settings), repr(settings.sms), str(settings.sms)):
        assert TOKEN not in shown
        assert "0123456789abcdef" not in shown
        assert "auth_token=<hidden>" in shown
    assert "auth_token=None" in repr(SmsSettings())


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("auth_token", f"{TOKEN} extra"),
        ("api_secret", f"{TOKEN}\\u0007"),
        ("account_sid", f"XX{TOKEN}"),
        ("api_key", f"AC{TOKEN}"),
    ],
)
def test_bad_secret_is_not_quoted_back(tmp_path: Path, key: str, value: str) -> None:
    message = load_error(tmp_path, f'[sms]\n{key} = "{value}"\n')

    assert f"[sms] {key} must be" in message
    assert TOKEN not in message


def test_non_text_secret_is_not_quoted_back(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[sms]\nauth_token = 123456789\n")

    assert "[sms] auth_token must be text" in message
    assert "123456789" not in message


# The template file and the documentation


def field_keys() -> set[str]:
    sections = {
        "practice": PracticeSettings,
        "sms": SmsSettings,
        "sending": SendingSettings,
        "reminders": ReminderSettings,
    }
    return {
        f"{section}.{'from' if f.name == 'from_number' else f.name}"
        for section, kind in sections.items()
        for f in dataclasses.fields(kind)
    }


def test_every_setting_is_documented_with_its_default() -> None:
    assert set(SETTINGS_DOC) == field_keys()
    for key, doc in SETTINGS_DOC.items():
        assert "(default: " in doc, key
        assert doc.endswith("."), key


def test_template_shows_every_key_and_its_description() -> None:
    text = render_config_template("Smile Dental", "America/New_York", "US")
    flat = " ".join(line.lstrip("# ") for line in text.splitlines())

    for key, doc in SETTINGS_DOC.items():
        section, name = key.split(".")
        assert re.search(rf"^(# )?{name} = ", text, re.MULTILINE), key
        assert " ".join(doc.split()) in flat, key
        assert f"[{section}]" in text


def test_template_loads_with_the_practice_filled_in(tmp_path: Path) -> None:
    text = render_config_template("Smile Dental", "America/New_York", "us")

    settings = load_settings(write(tmp_path, text, 0o644))

    assert settings.practice == PracticeSettings(
        "Smile Dental", "America/New_York", "US", None
    )
    assert dataclasses.replace(settings, practice=PracticeSettings()) == (
        Settings.default()
    )


def test_template_defaults_are_the_real_defaults(tmp_path: Path) -> None:
    text = uncomment_all(render_config_template("A", "Europe/London", "GB"))

    settings = load_settings(write(tmp_path, text))

    # id has no default to show, so the template offers an example.
    assert settings.practice == PracticeSettings("A", "Europe/London", "GB", 1)
    assert dataclasses.replace(settings, practice=PracticeSettings()) == (
        Settings.default()
    )


def test_template_only_fills_practice_values() -> None:
    text = render_config_template("Smile Dental", "America/New_York", "US")
    live = [
        line for line in text.splitlines() if line and not line.startswith(("#", "["))
    ]

    assert live == [
        'name = "Smile Dental"',
        'timezone = "America/New_York"',
        'region = "US"',
    ]


def test_template_escapes_awkward_names(tmp_path: Path) -> None:
    name = 'Dr "Tooth" \\ Söhne Dental'

    text = render_config_template(name, "Europe/Berlin", "DE")

    assert tomllib.loads(text)["practice"]["name"] == name


def test_template_leaves_missing_practice_values_commented() -> None:
    text = render_config_template(None, None, None)

    assert tomllib.loads(text)["practice"] == {}


def test_template_refuses_values_that_would_not_load() -> None:
    with pytest.raises(ConfigError, match="timezone must be an IANA time zone"):
        render_config_template("A", "Mars/Olympus", "US")
    with pytest.raises(ConfigError, match="region must be a two-letter"):
        render_config_template("A", "UTC", "ZZ")


def test_template_keeps_to_comment_width() -> None:
    text = render_config_template("Smile Dental", "America/New_York", "US")

    comments = [line for line in text.splitlines() if line.startswith("# ")]
    assert all(len(line) <= 80 for line in comments if " = " not in line)


def test_file_is_read_as_given_not_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "[sending]\nmax_attempts = 2\n")
    monkeypatch.chdir(tmp_path)

    assert load_settings(Path("config.toml")).sending.max_attempts == 2
    assert os.path.exists("config.toml")
