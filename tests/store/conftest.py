"""Store fixtures: default settings, a patient with consent, a wake-up recorder."""

from collections.abc import Iterator

import pytest

from store import wakeups
from store.consent import grant_consent
from store.models import ConsentSource
from store.patients import add_patient
from store.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings.default()


@pytest.fixture
def patient(practice, settings, now):  # type: ignore[no-untyped-def]
    """A patient of the practice who has agreed to texts."""
    person = add_patient(
        practice,
        first_name="Maria",
        last_name="Lopez",
        phone="(212) 555-0134",
        actor="desk",
        now=now,
    )
    grant_consent(
        practice,
        person.id,
        source=ConsentSource.WRITTEN_FORM,
        actor="desk",
        settings=settings,
        now=now,
    )
    return person


@pytest.fixture
def wakeup_log() -> Iterator[list[wakeups.Wakeup]]:
    """Every wake-up the store asks for, in order."""
    seen: list[wakeups.Wakeup] = []
    wakeups.set_hook(seen.append)
    yield seen
    wakeups.set_hook(None)
