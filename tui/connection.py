"""A database connection for one job on a worker thread."""

from collections.abc import Iterator
from contextlib import contextmanager

from store.db import database


@contextmanager
def store_connection() -> Iterator[None]:
    """Open this thread's connection for the job and close it afterwards.

    Peewee keeps one connection per thread, and Textual's worker threads come
    from a pool that outlives any one screen; closing after each job keeps
    idle threads from holding the database open. A thread that already has
    a connection (the test's own thread) keeps it.
    """
    if not database.is_closed():
        yield
        return

    with database.connection_context():
        yield
