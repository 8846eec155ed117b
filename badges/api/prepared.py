"""ORM queries compiled to SQL once and run with new parameter values on every request.

Building a Django query (filters, joins, compiling) costs several times more than SQLite takes
to run it; the API's per-request queries have a few fixed shapes, only the values change.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet


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
