"""`column IN (...)` whose SQL text repeats, so that prepared statements are reused.

SQLAlchemy renders one placeholder per value of an IN list, so every list length is a new
SQL text: on asyncpg a new server-side prepare (an extra round trip, a parse and a plan) for
each batch of receipts, deliveries or messages whose size differs from the last, and the
rendering itself (a placeholder and a cast per value, on every execution) was a good part of
a hot statement's CPU. On PostgreSQL `among` is therefore `column = ANY($1)`, one array
parameter whatever the size; elsewhere (SQLite) it is an IN list padded to the next size step
(by repeating a value, which IN ignores), which leaves a few texts per statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Boolean, ColumnElement, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

T = TypeVar("T")


def step(n: int) -> int:
    """The padded length for n values: powers of two up to 1,024, then multiples of it."""
    if n <= 1:
        return n
    if n <= 1024:
        return 1 << (n - 1).bit_length()
    return -(-n // 1024) * 1024


def padded(values: Iterable[T]) -> list[T]:
    """The distinct values, padded to `step(len)` by repeating the last one."""
    out = list(dict.fromkeys(values))
    if out:
        out += [out[-1]] * (step(len(out)) - len(out))
    return out


class Among(ColumnElement[bool]):
    """`column IN values`: an array parameter on PostgreSQL, a padded IN list elsewhere.

    Both parameters are part of the statement (and of its cache key, so a cached compiled
    form takes each execution's values); each dialect renders one of them."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # SQLite must not get `IN (...) = 1`, which skips indexes
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration, read-only
        ("column", InternalTraversal.dp_clauseelement),
        ("listed", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: Iterable[Any] | None = None, key: str | None = None):
        column = column.__clause_element__() if hasattr(column, "__clause_element__") else column
        self.column = column
        if key is not None:  # a statement built once, executed with among_params(key, ...)
            self.listed = bindparam(key, type_=column.type, expanding=True)
            self.array = bindparam(f"{key}_array", type_=ARRAY(column.type))
        else:
            distinct = list(dict.fromkeys(values or ()))
            self.listed = bindparam(None, padded(distinct), type_=column.type, expanding=True)
            self.array = bindparam(None, distinct, type_=ARRAY(column.type))


@compiles(Among)
def _in_list(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.listed), **kw)


@compiles(Among, "postgresql")
def _any_array(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.array, **kw)})"


def among(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values` whose SQL text does not depend on how many values (see above)."""
    return Among(column, values)


def among_param(column: Any, key: str) -> ColumnElement[bool]:
    """`among` for a statement built once: pass `among_params(key, values)` at execution."""
    return Among(column, key=key)


def among_params(key: str, values: Iterable[Any]) -> dict[str, list[Any]]:
    """The parameters of `among_param(column, key)` for these values."""
    distinct = list(dict.fromkeys(values))
    return {key: padded(distinct), f"{key}_array": distinct}
