"""systemd unit files for the daemon, rendered from templates in daemon/units/.

The templates are package data, so an installed copy can print its own unit
(`frontdesk daemon --print-unit`). systemd/*.service in the repository are
renders of the same templates for a placeholder install path.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Literal

UnitKind = Literal["user", "system"]

TEMPLATES: dict[str, str] = {
    "user": "frontdesk-daemon.service.in",
    "system": "frontdesk-daemon-system.service.in",
}

# The system unit mounts these empty (ProtectHome=yes), so neither the
# program nor the data may live under them.
HIDDEN_FROM_SYSTEM_UNIT = ("/home", "/root", "/run/user")

SYSTEM_HOME_DIRECTIVES = """\
StateDirectory=frontdesk
StateDirectoryMode=2770
Environment=FRONTDESK_HOME=%S/frontdesk"""


def render_unit(
    kind: UnitKind,
    exec_path: str | Sequence[str],
    home: Path | None,
) -> str:
    """Return the text of the user or system unit that runs `frontdesk daemon`.

    `exec_path` is the command that starts frontdesk: the path of the
    program, a string in shell syntax as `default_exec_path()` returns it,
    or the words themselves as a sequence. `home` is the explicit home folder
    in effect, or None for the default one (platformdirs for the user unit,
    /var/lib/frontdesk for the system unit).

    Raises ValueError when the command is not an absolute path, or when the
    system unit could not reach the program or the home folder.
    """
    command = _command_words(exec_path)
    if home is not None:
        home = Path(home).expanduser().absolute()

    if kind == "user":
        if home is not None:
            command += ["--home", str(home)]
        values = {"EXEC_START": _exec_line(command)}
    elif kind == "system":
        _refuse_hidden_path(command[0], "the frontdesk program")
        values = {
            "EXEC_START": _exec_line(command),
            "HOME_DIRECTIVES": _system_home_directives(home),
        }
    else:
        raise ValueError(f"unit kind must be 'user' or 'system', got {kind!r}")

    text = _read_template(kind)
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def default_exec_path() -> str:
    """Return the command that starts this install of frontdesk, in shell syntax.

    That is the `frontdesk` console script next to the running interpreter,
    or `<python> -m cli.main` when the script is absent (a source checkout).
    """
    python = Path(sys.executable).absolute()
    script = python.parent / "frontdesk"
    if script.is_file():
        return shlex.quote(str(script))
    return shlex.join([str(python), "-m", "cli.main"])


def _read_template(kind: UnitKind) -> str:
    folder = resources.files("daemon") / "units"
    return (folder / TEMPLATES[kind]).read_text(encoding="utf-8")


def _command_words(exec_path: str | Sequence[str]) -> list[str]:
    # A string naming an existing file is one path even with spaces in it;
    # any other string is shell words, as default_exec_path() writes them.
    if not isinstance(exec_path, str):
        words = list(exec_path)
    elif Path(exec_path).is_file():
        words = [exec_path]
    else:
        words = shlex.split(exec_path)

    # systemd runs services from "/" with its own PATH, so a relative or bare
    # name would find another program, or none.
    if not words or not PurePosixPath(words[0]).is_absolute():
        raise ValueError(
            "the unit needs the absolute path of the frontdesk program, "
            f"got {exec_path!r}"
        )
    return words + ["daemon"]


def _system_home_directives(home: Path | None) -> str:
    if home is None:
        return SYSTEM_HOME_DIRECTIVES

    # A home outside /var/lib is not created by StateDirectory=, and
    # ProtectSystem=strict keeps it read-only unless listed.
    _refuse_hidden_path(str(home), "the home folder")
    folder = _quote_word(str(home))
    env = _quote_word(f"FRONTDESK_HOME={home}")
    create = shlex.join(
        ["install", "-d", "-o", "frontdesk", "-g", "frontdesk", "-m", "2770", str(home)]
    )
    return f"# Create it first: {create}\nEnvironment={env}\nReadWritePaths={folder}"


def _refuse_hidden_path(path: str, what: str) -> None:
    posix = PurePosixPath(path)
    for hidden in HIDDEN_FROM_SYSTEM_UNIT:
        if posix == PurePosixPath(hidden) or posix.is_relative_to(hidden):
            raise ValueError(
                f"{what} is under {hidden} ({path}), which the system unit "
                "cannot see (ProtectHome=yes); install it elsewhere, for "
                "example under /opt/frontdesk or /var/lib/frontdesk"
            )


def _exec_line(words: Sequence[str]) -> str:
    program, *arguments = words

    # systemd refuses these in the program's path however they are quoted.
    if any(char in "\"'\\" or _is_control(char) for char in program):
        raise ValueError(
            "systemd cannot start a program whose path holds quotes, "
            f"backslashes or control characters: {program!r}; "
            "install frontdesk in a plainer folder"
        )

    # Arguments expand $VAR and ${VAR}, where "$$" is a literal dollar; the
    # program's path is taken as it is.
    quoted = [_quote_word(word).replace("$", "$$") for word in arguments]
    return " ".join([_quote_word(program), *quoted])


def _quote_word(word: str) -> str:
    """Quote one word for a systemd setting: specifiers, quotes, C escapes.

    systemd.syntax(7): "%" starts a specifier, whitespace splits words, and
    backslash escapes are decoded inside and outside quotes. A lone ";"
    separates commands in Exec lines, so it is written "\\;".
    """
    word = word.replace("%", "%%")
    if word == ";":
        return "\\;"
    if word and not any(_needs_quotes(char) for char in word):
        return word

    escaped = []
    for char in word:
        if char in '\\"':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif _is_control(char):
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _needs_quotes(char: str) -> bool:
    return char.isspace() or char in "\"'\\" or _is_control(char)


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or ord(char) == 0x7F
