"""Hot-path statements written in SQL, for SQLite (3.35+) and PostgreSQL; other databases
keep the ORM's way.

Building a statement with the ORM costs 0.5-2 ms of Python on every request (filters
resolved, expressions compiled), many times what the database takes to run it. The few
statements of every sign-in are written here once instead, with the models' own table and
column names and their fields' own value preparation (``prep``).

One-statement counters: insert the row, or update it only when a condition holds.

The rate limits and the lockout count a hit with a conditional UPDATE that must create its
row the first time. Done with the ORM that is an UPDATE, an INSERT that ignores conflicts and
the UPDATE again; SQLite (3.35+) and PostgreSQL do it in one ``INSERT ... ON CONFLICT DO
UPDATE ... WHERE ... RETURNING``, atomic like the UPDATE it replaces (the row is locked, or
SQLite's database is, until the transaction ends). Other databases keep the ORM's way.
"""

from functools import cache
from types import SimpleNamespace
from typing import Any

from django.db import connections, router
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

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
    skip_pk = model._meta.pk.attname not in values and "pk" not in values
    return _insert_values(model(**values), connection, skip_pk)


def _insert_values(instance: Model, connection: Any, skip_pk: bool) -> tuple[str, list]:
    columns, params = [], []
    for field in instance._meta.concrete_fields:
        if field.primary_key and skip_pk:
            continue
        columns.append(connection.ops.quote_name(field.column))
        params.append(field.get_db_prep_save(getattr(instance, field.attname), connection))
    placeholders = ", ".join(["%s"] * len(params))
    return f"({', '.join(columns)}) VALUES ({placeholders})", params


def plain_insert(model: type[Model], connection: Any) -> bool:
    """Whether a row of ``model`` may be inserted without the ORM: the database allows, and
    nobody listens to the model's save signals (which only the ORM's save sends)."""
    return supported(connection) and not (
        pre_save.has_listeners(model) or post_save.has_listeners(model)
    )


def create(model: type[Model], **values: Any) -> Model:
    """``model.objects.create(**values)``, in one statement built without the ORM when
    ``plain_insert`` allows."""
    connection = connection_for(model)
    if not plain_insert(model, connection):
        return model._default_manager.create(**values)
    instance = model(**values)
    insert = _insert_values(instance, connection, skip_pk=instance.pk is None)
    n = names(model, connection)
    pk_column = getattr(n, model._meta.pk.attname)
    # Quoted model names only: every value is a parameter.
    sql = f"INSERT INTO {n.table} {insert[0]} RETURNING {pk_column}"  # nosec B608
    returned = execute(connection, sql, insert[1])[1][0]
    instance.pk = value(model, model._meta.pk.attname, returned, connection)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


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
    # Quoted model names and the callers' fixed SQL: every value is a parameter.
    conflict_sql = connection.ops.quote_name(conflict)
    sql = f"INSERT INTO {table} {insert[0]} ON CONFLICT ({conflict_sql}) DO UPDATE "  # nosec B608
    sql += f"SET {set_sql} WHERE {where_sql} RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*insert[1], *params])
        return cursor.fetchone()


@cache
def _names(model: type[Model], vendor: str) -> SimpleNamespace:
    quote = connections[router.db_for_write(model)].ops.quote_name
    columns = {field.name: quote(field.column) for field in model._meta.concrete_fields}
    columns.update({field.attname: quote(field.column) for field in model._meta.concrete_fields})
    return SimpleNamespace(table=quote(model._meta.db_table), **columns)


def names(model: type[Model], connection: Any) -> SimpleNamespace:
    """``model``'s quoted table (``.table``) and columns (by field name or attname)."""
    return _names(model, connection.vendor)


def execute(connection: Any, sql: str, params: list) -> tuple[int, tuple | None]:
    """Run ``sql``: the rows it changed, and its first row (``RETURNING``, ``SELECT``)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone() if cursor.description else None
        return cursor.rowcount, row


def columns(model: type[Model], connection: Any) -> str:
    """Every concrete column of ``model``, table-qualified, in ``instance``'s order."""
    n = names(model, connection)
    return ", ".join(f"{n.table}.{getattr(n, f.attname)}" for f in model._meta.concrete_fields)


def instance(model: type[Model], values: Any, connection: Any) -> Model:
    """The ``model`` instance of a row of ``columns(model)``, read as the ORM reads it (the
    backend's converters, then the field's own)."""
    attnames, readers = _readers(model, connection)
    converted = []
    for value, (expression, converters) in zip(values, readers, strict=True):
        for converter in converters:
            value = converter(value, expression, connection)
        converted.append(value)
    return model.from_db(connection.alias, attnames, converted)


_READERS: dict[tuple[type[Model], str], tuple[list[str], list[tuple[Any, list]]]] = {}


def _readers(model: type[Model], connection: Any) -> tuple[list[str], list[tuple[Any, list]]]:
    """Each column's expression and converters, found once per model and database (each
    thread's connection to one database has the same settings, which is all they read)."""
    key = (model, connection.alias)
    if key not in _READERS:
        fields = model._meta.concrete_fields
        readers = []
        for field in fields:
            expression = field.get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(expression)
            readers.append((expression, converters + expression.get_db_converters(connection)))
        _READERS[key] = ([field.attname for field in fields], readers)
    return _READERS[key]


def value(model: type[Model], attname: str, raw: Any, connection: Any) -> Any:
    """One column's database value as the ORM reads it (see ``instance``)."""
    attnames, readers = _readers(model, connection)
    expression, converters = readers[attnames.index(attname)]
    for converter in converters:
        raw = converter(raw, expression, connection)
    return raw
