"""Opening a desk: the home, its settings, the database and the practice.

Every entry point (the command line, the TUI, the daemon) starts here, so they
all read the same files the same way and fail with the same clear messages.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from store.audit import SYSTEM_ACTOR, record_event
from store.db import close_database, database, open_database
from store.errors import NotFound
from store.home import Home, resolve_home
from store.models import Practice
from store.practices import get_practice
from store.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class Desk:
    """One practice's home, opened: what every command and screen works on."""

    home: Home
    settings: Settings
    practice: Practice


def open_desk(home: str | Path | Home | None = None) -> Desk:
    """Resolve the home, read config.toml, open the database, find the practice.

    Raises ConfigError for a bad config file, SchemaError for a database made
    by a newer frontdesk, and NotFound when the home was never initialised.
    """
    resolved = home if isinstance(home, Home) else resolve_home(home)
    if not resolved.database.exists():
        where = resolved.root or resolved.data_dir
        raise NotFound(
            f"No frontdesk database in {where}; run `frontdesk init` first, "
            "or pass the --home you used then."
        )

    settings = load_settings(resolved.config)
    open_database(resolved.database)
    practice = get_practice(settings.practice.id)
    apply_practice_settings(practice, settings)
    return Desk(home=resolved, settings=settings, practice=practice)


def apply_practice_settings(practice: Practice, settings: Settings) -> None:
    """Make the practice's name, zone and region those config.toml sets.

    The file is what the practice's IT person edits, so when it names a
    value it wins over the one stored at ``init``; an unset key leaves the
    stored value alone.
    """
    wanted = {
        "name": settings.practice.name,
        "timezone": settings.practice.timezone,
        "region": settings.practice.region,
    }
    changes = {
        key: value
        for key, value in wanted.items()
        if value and value != getattr(practice, key)
    }
    if not changes:
        return

    with database.atomic():
        for key, value in changes.items():
            setattr(practice, key, value)
        practice.save()
        record_event(practice, SYSTEM_ACTOR, "practice.updated", practice, changes)
    practice.__dict__.pop("zone", None)
    log.info("Practice %s updated from config.toml: %s", practice.id, sorted(changes))


def close_desk() -> None:
    """Close this thread's database connection."""
    close_database()
