"""Statements on the send path, with their SQL built once and reused.

Building a query through the ORM costs more CPU than SQLite spends running
it, and a backlog drain runs the same few statements for every text. These
are written from the models' own metadata, so column names, value
conversions, quoting and placeholders stay the ones the ORM would use.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import peewee

from store.db import database


@dataclass(frozen=True)
class Statement:
    """One parameterised statement and how to convert each of its values."""

    sql: str
    converters: tuple[Callable[[Any], Any], ...]

    def run(self, *values: Any) -> Any:
        """Execute with ``values`` in the statement's column order; the cursor."""
        params = [
            convert(v) for convert, v in zip(self.converters, values, strict=True)
        ]
        return database.execute_sql(self.sql, params)


def insert(model: type[peewee.Model], columns: Sequence[str]) -> Statement:
    """``INSERT`` of ``columns``; ``inserted_id`` reads the new row's id."""
    fields = [model._meta.fields[name] for name in columns]
    names = ", ".join(_quoted(f.column_name) for f in fields)
    marks = ", ".join([database.param] * len(fields))
    sql = f"INSERT INTO {_quoted(model._meta.table_name)} ({names}) VALUES ({marks})"
    if database.returning_clause:
        key = model._meta.primary_key
        assert isinstance(key, peewee.Field), f"{model.__name__} has no key"
        sql += f" RETURNING {_quoted(key.column_name)}"
    return Statement(sql, tuple(f.db_value for f in fields))


def update(
    model: type[peewee.Model], columns: Sequence[str], where: Sequence[str]
) -> Statement:
    """``UPDATE`` setting ``columns`` where every ``where`` column equals its
    value: the values go in that order, the set ones first."""
    fields = [model._meta.fields[name] for name in columns]
    conditions = [model._meta.fields[name] for name in where]
    mark = database.param
    assignments = ", ".join(f"{_quoted(f.column_name)} = {mark}" for f in fields)
    guard = " AND ".join(f"{_quoted(f.column_name)} = {mark}" for f in conditions)
    sql = f"UPDATE {_quoted(model._meta.table_name)} SET {assignments} WHERE {guard}"
    return Statement(sql, tuple(f.db_value for f in fields + conditions))


def inserted_id(cursor: Any) -> int:
    """The id of the row an ``insert`` statement just wrote."""
    if database.returning_clause:
        return int(cursor.fetchone()[0])
    return int(cursor.lastrowid)


class BuiltOnce:
    """Statements built on first use, once the database is known.

    ``build`` returns the statements; they are rebuilt only if the kind of
    database behind the seam changes (tests open one after another).
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._key: tuple[str, str, bool] | None = None
        self._built: Any = None

    def get(self) -> Any:
        key = (database.param, database.quote, database.returning_clause)
        if key != self._key:
            self._built = self._build()
            self._key = key
        return self._built


def _quoted(name: str) -> str:
    opening, closing = database.quote[0], database.quote[-1]
    return f"{opening}{name}{closing}"
