"""The database seam: the one place that knows which database engine is in use.

Everything else talks to ``database``, a proxy bound at start-up, and writes
portable Peewee queries. SQLite-only settings and SQL live here and nowhere
else, so a PostgreSQL URL can take over later.
"""

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import peewee

from store.errors import SchemaError

if TYPE_CHECKING:
    from playhouse.migrate import SchemaMigrator

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

# Bumped whenever the schema changes; each step below moves a database one
# version forward and must keep every row it finds.
SCHEMA_VERSION = 2

Migration = Callable[["SchemaMigrator"], None]


def _drop_unsearched_indexes(migrator: "SchemaMigrator") -> None:
    """Version 2: drop indexes no query searches. Each cost every send a write
    to a random page once the history is large."""
    for name in (
        "sent_message_patient_id",
        "sent_message_consent_id",
        "scheduled_message_patient_id",
        "scheduled_message_claim_token",
    ):
        migrator.database.execute_sql(f"DROP INDEX IF EXISTS {name}")


MIGRATIONS: dict[int, Migration] = {2: _drop_unsearched_indexes}

# NOTE: busy_timeout is what keeps the TUI, the command line and the daemon from
# ever seeing "database is locked" while they write at once; IMMEDIATE makes
# every transaction take the write lock up front, because a deferred one that
# reads and then writes fails at once, whatever the timeout.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    "foreign_keys": 1,
    "synchronous": "full",
}


class SchemaVersion(peewee.Model):
    """One row: the version of the schema this database was last migrated to."""

    version = peewee.IntegerField()

    class Meta:
        database = database
        table_name = "schema_version"


def build_database(target: str | Path) -> peewee.Database:
    """Make an unconnected database object for a file path or a database URL."""
    text = str(target)
    if "://" not in text:
        return _sqlite(Path(text))

    if text.startswith("sqlite:///"):
        return _sqlite(Path(text.removeprefix("sqlite:///")))

    # Only a server database needs the URL parser; SQLite starts faster
    # without it.
    from playhouse.db_url import connect as connect_url

    return connect_url(text)


def _sqlite(path: Path) -> peewee.SqliteDatabase:
    if not path.exists() and path.parent.is_dir():
        # The file holds names and phone numbers: never readable by every
        # user of the computer, whatever the umask (the group bits stay, for
        # a home shared by the daemon and the desk through a group).
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o660))
    return peewee.SqliteDatabase(
        str(path),
        pragmas=SQLITE_PRAGMAS,
        timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        lock_type="IMMEDIATE",
    )


def open_database(target: str | Path) -> peewee.Database:
    """Bind the store to a database, creating or migrating its schema.

    Raises SchemaError when the database was made by a newer frontdesk, so an
    old install never writes to a schema it does not understand.
    """
    db = build_database(target)
    database.initialize(db)
    db.connect(reuse_if_open=True)

    migrate_schema()
    return db


def close_database() -> None:
    """Close this thread's connection, if the store is bound and open."""
    if database.obj is not None and not database.is_closed():
        database.close()


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def migrate_schema() -> None:
    """Create the tables of a new database, or move an older one forward."""
    from store.models import ALL_MODELS

    with database.atomic():
        if not SchemaVersion.table_exists():
            if _has_app_tables():
                raise SchemaError(
                    "This database has frontdesk tables but no schema version; "
                    "it was not made by frontdesk and will not be touched."
                )
            database.create_tables([SchemaVersion, *ALL_MODELS])
            SchemaVersion.create(version=SCHEMA_VERSION)
            log.info("Created database schema version %d", SCHEMA_VERSION)
            return

        row = SchemaVersion.get_or_none()
        found = row.version if row else 0

    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"This database is at schema version {found}, made by a newer "
            f"frontdesk; this one understands up to version {SCHEMA_VERSION}. "
            "Upgrade frontdesk rather than opening it with this version."
        )

    for version in range(found + 1, SCHEMA_VERSION + 1):
        _apply_migration(version)


def _apply_migration(version: int) -> None:
    step = MIGRATIONS.get(version)
    if step is None:
        raise SchemaError(f"No migration is known to reach schema version {version}.")

    # Imported only when a database needs migrating: it pulls in every
    # engine's extensions, which a normal start does not need.
    from playhouse.migrate import SchemaMigrator

    migrator = SchemaMigrator.from_database(database)
    with migrator.migration_context():
        step(migrator)
        SchemaVersion.update(version=version).execute()

    log.info("Migrated database to schema version %d", version)


def _has_app_tables() -> bool:
    from store.models import ALL_MODELS

    return any(model.table_exists() for model in ALL_MODELS)
