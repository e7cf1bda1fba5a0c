"""`column IN (...)` whose SQL text repeats, so that prepared statements are reused.

SQLAlchemy renders one placeholder per value, so every list length is a new SQL text: on
asyncpg a new server-side prepare (an extra round trip, a parse and a plan) for each batch
of receipts, deliveries or messages whose size differs from the last. Padding a list to the
next size step (by repeating a value, which IN ignores) leaves a few texts per statement,
which the driver's statement cache keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement

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


def among(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`, with a padded list (see the module's docstring)."""
    result: ColumnElement[bool] = column.in_(padded(values))
    return result
