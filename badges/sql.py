"""Prepared SQL: statements built once per shape, not per event or request.

Building a statement with the ORM (compiling a query or an insert) costs more CPU than running it
on the event path and on the API's requests, so the statements they run all the time are built
once and run with fresh parameters, in one of two ways:

- composed once per database vendor and shape from the models' metadata (:func:`insert_rows`,
  :func:`update_fields`, :func:`select_sql` with :func:`instance_from_row`): values still go
  through each field's own ``pre_save`` and ``get_db_prep_save``, as the ORM's insert does;
- compiled once per database from an ORM query with a marker for each parameter
  (:class:`PreparedQuery`), for reads whose joins and annotations the ORM writes best.

Statements run on Django's cursor, so execute wrappers (query counters, instrumentation) see
every one of them.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.fields import AutoFieldMixin


def column(connection: BaseDatabaseWrapper, model: type[Model], name: str) -> str:
    """The quoted column of a model field."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def table(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def qualified_column(connection: BaseDatabaseWrapper, model: type[Model], name: str) -> str:
    """The column of a model field qualified by its table: the parent's table for an inherited field."""
    return f"{table(connection, model._meta.get_field(name).model)}.{column(connection, model, name)}"


def insert_rows(model: type[Model], rows: Sequence[Model], *, return_ids: bool = False) -> list[int] | None:
    """Insert unsaved instances of ``model`` (no multi-table inheritance) in one statement.

    Every concrete field but the auto primary key is written with what the ORM's insert would
    write (``auto_now`` dates set, defaults applied). With ``return_ids``, the new ids in row
    order, or None where the database cannot return them from a multi-row insert (older MySQL):
    the caller then reads them back. Constraint violations raise ``IntegrityError``, as the ORM's.
    """
    if not rows:
        return [] if return_ids else None
    connection = connections[router.db_for_write(model)]
    fields = _insert_fields(model)
    returning = return_ids and (connection.features.can_return_rows_from_bulk_insert or len(rows) == 1)
    params = [field.get_db_prep_save(field.pre_save(row, True), connection) for row in rows for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.alias, model, len(rows), returning), params)
        if not returning:
            return None
        if connection.features.can_return_columns_from_insert:
            return [row[0] for row in cursor.fetchall()]
        return [connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)]


@functools.cache
def _insert_fields(model: type[Model]) -> tuple[Field, ...]:
    if model._meta.parents:
        raise TypeError(f"{model.__name__} inherits a table; insert_rows writes one table only.")
    return tuple(field for field in model._meta.local_concrete_fields if not isinstance(field, AutoFieldMixin))


@functools.lru_cache(maxsize=64)
def _insert_sql(alias: str, model: type[Model], rows: int, returning: bool) -> str:
    connection = connections[alias]
    fields = _insert_fields(model)
    placeholders = [["%s"] * len(fields)] * rows
    sql = (f"INSERT INTO {table(connection, model)} "
           f"({', '.join(connection.ops.quote_name(field.column) for field in fields)}) "
           f"{connection.ops.bulk_insert_sql(fields, placeholders)}")
    if returning and connection.features.can_return_columns_from_insert:
        returning_sql, _params = connection.ops.return_insert_columns([model._meta.pk])
        sql = f"{sql} {returning_sql}"
    return sql


def update_fields(instance: Model, names: Sequence[str]) -> None:
    """Write the fields ``names`` of a saved instance, all columns of its own table, as ``save(update_fields=...)``
    writes them (``auto_now`` dates set) but without building the statement each time, and without save signals.
    """
    model = type(instance)
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in names]
    if any(field.model is not model for field in fields):
        raise TypeError(f"update_fields writes {model.__name__}'s own table only: {list(names)}")
    params = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(connection.alias, model, tuple(names)), [*params, instance.pk])
        if cursor.rowcount == 0:
            raise DatabaseError(f"{model.__name__} {instance.pk} no longer exists; nothing was updated.")


@functools.lru_cache(maxsize=64)
def _update_sql(alias: str, model: type[Model], names: tuple[str, ...]) -> str:
    connection = connections[alias]
    assignments = ", ".join(f"{column(connection, model, name)} = %s" for name in names)
    return (f"UPDATE {table(connection, model)} SET {assignments} "  # noqa: S608 - identifiers from model metadata
            f"WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s")


def select_sql(connection: BaseDatabaseWrapper, model: type[Model], where: str, extra: Sequence[str] = (),
               related: Sequence[str] = (), lock: bool = False) -> str:
    """SELECT every concrete field of ``model`` (a parent table's too, joined), then those of the rows its
    (non-null) foreign keys ``related`` point to, in :func:`instance_from_row`'s order, then the ``extra``
    expressions, WHERE ``where``; with ``lock``, the rows are locked until commit where the database locks rows.

    ``where`` and ``extra`` name the tables by their quoted table names (:func:`table`).
    """
    quote = connection.ops.quote_name
    models = [model, *(model._meta.get_field(name).related_model for name in related)]
    columns = [f"{table(connection, field.model)}.{quote(field.column)}"
               for each in models for field in each._meta.concrete_fields]
    joins = ""
    for parent, link in model._meta.parents.items():
        if parent._meta.parents:
            raise TypeError(f"{model.__name__}: only one level of table inheritance is supported.")
        joins += (f" INNER JOIN {table(connection, parent)} ON {table(connection, parent)}."
                  f"{quote(parent._meta.pk.column)} = {table(connection, model)}.{quote(link.column)}")
    for name in related:
        key = model._meta.get_field(name)
        if key.related_model._meta.parents:
            raise TypeError(f"{key.related_model.__name__}: a related row must not inherit a table.")
        joins += (f" INNER JOIN {table(connection, key.related_model)} ON {table(connection, key.related_model)}."
                  f"{quote(key.target_field.column)} = {qualified_column(connection, model, name)}")
    locking = f" {connection.ops.for_update_sql()}" if lock and connection.features.has_select_for_update else ""
    return (f"SELECT {', '.join([*columns, *extra])} FROM {table(connection, model)}{joins} "  # noqa: S608
            f"WHERE {where}{locking}")


def instance_from_row(connection: BaseDatabaseWrapper, model: type[Model], row: Sequence,
                      related: Sequence[str] = ()) -> Model:
    """The instance of ``model`` a :func:`select_sql` row holds, with its ``related`` rows attached; values
    converted as the ORM converts them (the database's converters, then the field's ``from_db_value``)."""
    instance = _from_row(connection, model, row)
    start = len(model._meta.concrete_fields)
    for name in related:
        target = model._meta.get_field(name).related_model
        setattr(instance, name, _from_row(connection, target, row[start:]))
        start += len(target._meta.concrete_fields)
    return instance


def _from_row(connection: BaseDatabaseWrapper, model: type[Model], row: Sequence) -> Model:
    values = []
    for value, (expression, converters) in zip(row, _converters(connection.alias, model), strict=False):
        for converter in converters:
            value = converter(value, expression, connection)
        values.append(value)
    return model.from_db(connection.alias, [field.attname for field in model._meta.concrete_fields], values)


@functools.lru_cache(maxsize=16)
def _converters(alias: str, model: type[Model]) -> list[tuple[Any, list[Callable]]]:
    connection = connections[alias]
    result = []
    for field in model._meta.concrete_fields:
        col = field.get_col(field.model._meta.db_table)
        result.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return result


class PreparedQuery:
    """``build(**parameters)`` compiled once per database alias with a marker for each parameter;
    :meth:`rows` runs the SQL with the real values and converts each column as Django's own
    iteration would. Parameters must reach the SQL unchanged (text fields): a marker that a field
    converts (a UUID, a number) is refused when compiling."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], parameters: tuple[str, ...]) -> None:
        self.model, self.build, self.parameters = model, build, parameters
        self._compiled: dict[str, tuple] = {}

    def _compile(self, alias: str) -> tuple:
        markers = {name: f"\x00prepared:{name}\x00" for name in self.parameters}
        by_marker = {marker: name for name, marker in markers.items()}
        queryset = self.build(**markers)
        compiler = queryset.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        slots = [(index, by_marker[param]) for index, param in enumerate(params) if param in by_marker]
        if {name for _, name in slots} != set(self.parameters):
            raise ValueError(f"the query does not take its parameters {self.parameters} as they are")
        converters = [(index, tuple(functions), expression) for index, (functions, expression)
                      in compiler.get_converters([expression for expression, _, _ in compiler.select]).items()]
        query = queryset.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        compiled = self._compiled[alias] = (sql, list(params), slots, converters, names)
        return compiled

    def rows(self, **values: Any) -> list[tuple]:
        """The rows of ``build(**values)``, as ``values_list`` would give them."""
        return self._run(values)[0]

    def dicts(self, **values: Any) -> list[dict[str, Any]]:
        """The rows of ``build(**values)``, as ``values`` would give them."""
        rows, names = self._run(values)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _run(self, values: dict[str, Any]) -> tuple[list[tuple], list[str]]:
        alias = router.db_for_read(self.model)
        sql, params, slots, converters, names = self._compiled.get(alias) or self._compile(alias)
        params = list(params)
        for index, name in slots:
            params[index] = values[name]
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return rows, names
        converted = []
        for row in rows:
            row = list(row)
            for index, functions, expression in converters:
                value = row[index]
                for function in functions:
                    value = function(value, expression, connection)
                row[index] = value
            converted.append(tuple(row))
        return converted, names
