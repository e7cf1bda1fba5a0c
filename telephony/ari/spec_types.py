"""The pieces of a Swagger 1.1 ARI description: parameters, operations, models, resources."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Asterisk's date check (res/res_ari_model.c): YYYY-MM-DD, optionally T hh:mm[:ss[.s]] + zone.
# Asterisk itself emits "%FT%T.%q%z", e.g. 2026-11-26T10:00:00.123+0000.
DATE_RE = re.compile(
    r"^[0-9]{4}-[01][0-9]-[0-3][0-9]"
    r"(T[0-2][0-9]:[0-5][0-9](:[0-6][0-9](\.[0-9]+)?)?(Z|[-+][0-2][0-9](:?[0-5][0-9])?))?$",
    re.IGNORECASE,
)
INT32 = (-(2**31), 2**31 - 1)
# Asterisk parses boolean query parameters with ast_true()/ast_false().
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


@dataclass(frozen=True)
class AllowableValues:
    """A parameter's or property's permitted values (Swagger LIST or RANGE)."""

    value_type: str
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> AllowableValues | None:
        """Build from the spec's JSON, keeping None when nothing is constrained."""
        if not raw:
            return None
        return cls(
            value_type=str(raw.get("valueType", "")).upper(),
            values=tuple(str(v) for v in raw.get("values", ())),
            minimum=raw.get("min"),
            maximum=raw.get("max"),
        )

    def problem(self, value: Any) -> str | None:
        """Say why ``value`` is not allowed, or None when it is."""
        if self.value_type == "LIST" and str(value) not in self.values:
            return f"{value!r} not one of {list(self.values)}"
        if self.value_type == "RANGE" and isinstance(value, int | float):
            if self.minimum is not None and value < self.minimum:
                return f"{value} below minimum {self.minimum}"
            if self.maximum is not None and value > self.maximum:
                return f"{value} above maximum {self.maximum}"
        return None


@dataclass(frozen=True)
class Parameter:
    """One operation parameter: where it goes (path/query/body) and what it accepts."""

    name: str
    param_type: str
    required: bool
    data_type: str
    allow_multiple: bool
    allowable_values: AllowableValues | None


@dataclass(frozen=True)
class Operation:
    """One HTTP method on one path, as the spec declares it."""

    resource: str
    path: str
    http_method: str
    nickname: str
    response_class: str
    parameters: tuple[Parameter, ...]
    error_responses: Mapping[int, str]
    upgrade: str | None = None

    def params(self, param_type: str) -> dict[str, Parameter]:
        """The parameters of one kind (path, query or body) by name."""
        return {p.name: p for p in self.parameters if p.param_type == param_type}

    def check_query_values(self, query: Mapping[str, str]) -> list[str]:
        """Problems with a received query string: unknown, missing, mistyped, not allowed."""
        declared = self.params("query")
        problems = [f"unknown query parameter {name!r}" for name in query if name not in declared]
        for name, param in declared.items():
            if name not in query:
                if param.required:
                    problems.append(f"missing required query parameter {name!r}")
                continue
            raw = query[name]
            # allowMultiple values travel comma-separated in one parameter.
            items = raw.split(",") if param.allow_multiple else [raw]
            for item in items:
                problem = _query_value_problem(param, item)
                if problem:
                    problems.append(f"query parameter {name!r}: {problem}")
        return problems


def _query_value_problem(param: Parameter, raw: str) -> str | None:
    value: Any = raw
    if param.data_type in ("int", "long"):
        try:
            value = int(raw)
        except ValueError:
            return f"{raw!r} is not an integer"
        if param.data_type == "int" and not INT32[0] <= value <= INT32[1]:
            return f"{raw!r} out of int range"
    elif param.data_type == "boolean":
        if raw.lower() not in _TRUE | _FALSE:
            return f"{raw!r} is not a boolean"
        return None
    if param.allowable_values is not None:
        return param.allowable_values.problem(value)
    return None


@dataclass(frozen=True)
class Property:
    """One model property: its Swagger type and whether it must be present."""

    name: str
    type: str
    required: bool
    allowable_values: AllowableValues | None


@dataclass(frozen=True)
class Model:
    """One model (e.g. Channel, StasisStart) with its own properties and subtypes."""

    id: str
    properties: Mapping[str, Property]
    sub_types: tuple[str, ...]
    discriminator: str | None
    source: str


@dataclass(frozen=True)
class Resource:
    """One api-docs file (channels, bridges, events...)."""

    name: str
    path: str
    api_version: str
    base_path: str
    operations: tuple[Operation, ...]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


PRIMITIVES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "int": lambda v: _is_int(v) and INT32[0] <= v <= INT32[1],
    "long": _is_int,
    # Asterisk checks doubles as JSON reals; Python's json gives float for those.
    "double": lambda v: isinstance(v, float),
    "object": lambda v: isinstance(v, dict),
    "Date": lambda v: isinstance(v, str) and DATE_RE.match(v) is not None,
}


def parse_resource(name: str, doc: Mapping[str, Any]) -> Resource:
    operations = []
    for api in doc.get("apis", ()):
        for raw in api.get("operations", ()):
            params = tuple(
                Parameter(
                    name=str(p["name"]),
                    param_type=str(p["paramType"]),
                    required=bool(p.get("required", False)),
                    data_type=str(p.get("dataType", "")),
                    allow_multiple=bool(p.get("allowMultiple", False)),
                    allowable_values=AllowableValues.parse(p.get("allowableValues")),
                )
                for p in raw.get("parameters", ())
            )
            operations.append(
                Operation(
                    resource=name,
                    path=str(api["path"]),
                    http_method=str(raw["httpMethod"]).upper(),
                    nickname=str(raw["nickname"]),
                    response_class=str(raw.get("responseClass", "")),
                    parameters=params,
                    # A few codes are strings in the files ("404" in channels move).
                    error_responses={
                        int(e["code"]): str(e.get("reason", ""))
                        for e in raw.get("errorResponses", ())
                    },
                    upgrade=raw.get("upgrade"),
                )
            )
    return Resource(
        name=name,
        path=str(doc.get("resourcePath", "")),
        api_version=str(doc.get("apiVersion", "")),
        base_path=str(doc.get("basePath", "")),
        operations=tuple(operations),
    )


def parse_model(model_id: str, raw: Mapping[str, Any], source: str) -> Model:
    props = {
        name: Property(
            name=name,
            type=str(p.get("type", "")),
            # Swagger 1.1: a property without "required" is optional.
            required=bool(p.get("required", False)),
            allowable_values=AllowableValues.parse(p.get("allowableValues")),
        )
        for name, p in raw.get("properties", {}).items()
    }
    return Model(
        id=model_id,
        properties=props,
        sub_types=tuple(raw.get("subTypes", ())),
        discriminator=raw.get("discriminator"),
        source=source,
    )
