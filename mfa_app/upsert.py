"""One-statement counters: insert the row, or update it only when a condition holds.

The rate limits and the lockout count a hit with a conditional UPDATE that must create its
row the first time. Done with the ORM that is an UPDATE, an INSERT that ignores conflicts and
the UPDATE again; SQLite (3.35+) and PostgreSQL do it in one ``INSERT ... ON CONFLICT DO
UPDATE ... WHERE ... RETURNING``, atomic like the UPDATE it replaces (the row is locked, or
SQLite's database is, until the transaction ends). Other databases keep the ORM's way.
"""

from typing import Any

from django.db import connections, router
from django.db.models import Model

# What the SQL functions are called: SQLite's MIN and MAX take several arguments too.
_FUNCTIONS = {"sqlite": ("MIN", "MAX"), "postgresql": ("LEAST", "GREATEST")}


def connection_for(model: type[Model]) -> Any:
    return connections[router.db_for_write(model)]


def supported(connection: Any) -> bool:
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 35, 0)
    return connection.vendor == "postgresql"


def least_greatest(connection: Any) -> tuple[str, str]:
    return _FUNCTIONS[connection.vendor]


def insert_values(model: type[Model], connection: Any, values: dict[str, Any]) -> tuple[str, list]:
    """The column list and placeholders of an INSERT of ``values`` (every other column: its
    field's default), with the values prepared for ``connection``."""
    instance = model(**values)
    columns, params = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.attname not in values:
            continue
        columns.append(connection.ops.quote_name(field.column))
        params.append(field.get_db_prep_save(getattr(instance, field.attname), connection))
    placeholders = ", ".join(["%s"] * len(params))
    return f"({', '.join(columns)}) VALUES ({placeholders})", params


def prep(model: type[Model], name: str, value: Any, connection: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_value(value, connection)


def run(
    model: type[Model],
    connection: Any,
    conflict: str,
    insert: tuple[str, list],
    set_sql: str,
    where_sql: str,
    params: list,
    returning: str = "1",
) -> tuple | None:
    """Insert, or update the conflicting row where ``where_sql`` holds: the row's
    ``returning`` columns if either happened, else ``None``."""
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} {insert[0]} "
        f"ON CONFLICT ({connection.ops.quote_name(conflict)}) DO UPDATE SET {set_sql} "
        f"WHERE {where_sql} RETURNING {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*insert[1], *params])
        return cursor.fetchone()
