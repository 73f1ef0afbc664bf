"""Guards that the documentation keeps up with the code."""

import re
from pathlib import Path

from store.settings import SETTINGS_DOC, render_config_template

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_every_config_key_is_documented_in_the_readme():
    documented = set(re.findall(r"`\[(\w+)\] (\w+)`", README))

    missing = {key for key in SETTINGS_DOC if tuple(key.split(".")) not in documented}

    assert missing == set()


def test_every_key_the_readme_documents_exists():
    documented = {f"{s}.{k}" for s, k in re.findall(r"`\[(\w+)\] (\w+)`", README)}

    assert documented - set(SETTINGS_DOC) == set()


def test_the_written_config_shows_every_key():
    template = render_config_template("Harbour Dental", "America/New_York", "US")

    for key in SETTINGS_DOC:
        assert re.search(rf"^#? ?{key.split('.')[1]} =", template, re.M), key


def test_the_readme_gives_the_ci_test_command_word_for_word():
    ci = (REPO / ".ci" / "run").read_text()
    command = next(line.strip() for line in ci.splitlines() if "-m pytest" in line)

    assert command in README
    assert "frontdesk demo" in README
