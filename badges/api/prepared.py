"""ORM queries compiled to SQL once and run with new parameter values on every request.

Building a Django query (filters, joins, compiling) costs several times more than SQLite takes
to run it; the API's per-request queries have a fixed shape, only the learner changes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet


class PreparedQuery:
    """``build(value)`` compiled once per database alias with a marker for ``value``; :meth:`rows`
    runs the SQL with the real value and converts each column as Django's own iteration would."""

    _MARKER = "\x00prepared-query-parameter\x00"

    def __init__(self, model: type[Model], build: Callable[[Any], QuerySet]) -> None:
        self.model, self.build = model, build
        self._compiled: dict[str, tuple[str, tuple, int, list]] = {}

    def _compile(self, alias: str) -> tuple[str, tuple, int, list]:
        queryset = self.build(self._MARKER)
        compiler = queryset.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        positions = [index for index, param in enumerate(params) if param == self._MARKER]
        if len(positions) != 1:
            raise ValueError("the query must use its parameter exactly once")
        converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
        compiled = self._compiled[alias] = (sql, tuple(params), positions[0], [
            (index, tuple(functions), expression) for index, (functions, expression) in converters.items()])
        return compiled

    def rows(self, value: Any) -> list[tuple]:
        """The rows of ``build(value)``, as ``values_list`` would give them."""
        alias = router.db_for_read(self.model)
        sql, params, position, converters = self._compiled.get(alias) or self._compile(alias)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, (*params[:position], value, *params[position + 1:]))
            rows = cursor.fetchall()
        if not converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for index, functions, expression in converters:
                value = row[index]
                for function in functions:
                    value = function(value, expression, connection)
                row[index] = value
            converted.append(tuple(row))
        return converted
