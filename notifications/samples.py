"""Sample payloads for the save-time template check: a topic's payload class as its JSON
reaches a template, each value knowing its path, so a trial render names what is missing."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined
from jinja2.utils import missing
from pydantic import BaseModel


class _Str(str):
    pass


class _Int(int):
    pass


class _Float(float):
    pass


class _List(list[Any]):
    pass


class _Dict(dict[str, Any]):
    pass


class _AnyKey(dict[str, Any]):
    """A `dict[str, V]` field: its keys are not known at save, so every key holds a V."""

    def __init__(self, make: Callable[[str], Any], path: str) -> None:
        super().__init__()
        self._make, self._path = make, path

    def __missing__(self, key: str) -> Any:
        value = self[key] = self._make(f"{self._path}.{key}")
        return value


class Sample:
    """One sample payload; `paths` keeps each value (alive) with its path in the payload."""

    def __init__(self) -> None:
        self.paths: dict[int, tuple[object, str]] = {}

    def payload(self, cls: type[BaseModel], names: Iterable[str]) -> dict[str, Any]:
        fields = cls.model_fields
        return {n: self.value(fields[n].annotation, n) for n in names}

    def path_of(self, obj: object) -> str | None:
        found = self.paths.get(id(obj))
        return found[1] if found is not None and found[0] is obj else None

    def keep(self, obj: Any, path: str) -> Any:
        self.paths[id(obj)] = (obj, path)
        return obj

    def value(self, tp: Any, path: str) -> Any:
        """A value of annotation `tp` in JSON form (as `model_dump(mode="json")` gives)."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Annotated:
            return self.value(args[0], path)
        if origin in (typing.Union, types.UnionType):
            arms = [a for a in args if a is not type(None)]
            return self.value(arms[0], path) if arms else None
        if origin is typing.Literal:
            return self.value(type(args[0]), path) if args else None
        if isinstance(origin, type) and issubclass(origin, Sequence | AbstractSet):
            return self.keep(_List([self.value(args[0] if args else Any, f"{path}[0]")]), path)
        if isinstance(origin, type) and issubclass(origin, Mapping):
            item = args[1] if len(args) == 2 else Any
            return self.keep(_AnyKey(lambda p: self.value(item, p), path), path)
        if isinstance(tp, type):
            if issubclass(tp, BaseModel):
                d = _Dict(
                    {n: self.value(f.annotation, f"{path}.{n}") for n, f in tp.model_fields.items()}
                )
                return self.keep(d, path)
            if issubclass(tp, enum.Enum):
                first = next(iter(tp)).value
                return self.value(type(first), path)
            if issubclass(tp, bool):
                return True
            if issubclass(tp, int):
                return self.keep(_Int(1), path)
            if issubclass(tp, float):
                return self.keep(_Float(1.0), path)
            if issubclass(tp, Decimal | str) or tp.__module__ in ("uuid", "datetime"):
                return self.keep(_Str(path), path)  # a string in JSON form
        return ChainableUndefined()  # Any, or a type the sample does not know: anything goes

    def undefined(self) -> type[StrictUndefined]:
        """StrictUndefined whose error names the missing variable by its path."""
        sample = self

        class Missing(StrictUndefined):
            __slots__ = ()

            @property
            def _undefined_message(self) -> str:
                if self._undefined_hint:
                    return self._undefined_hint
                name = self._undefined_name
                if self._undefined_obj is missing:
                    return str(name)
                parent = sample.path_of(self._undefined_obj)
                if parent is None:
                    return str(name)
                return f"{parent}[{name!r}]" if not isinstance(name, str) else f"{parent}.{name}"

        return Missing
