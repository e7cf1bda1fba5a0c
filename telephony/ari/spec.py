"""Asterisk's published ARI description (Swagger 1.1), loaded so code can be checked against it.

The files are never copied into the project: they are found through ``HUITONG_ARI_SPEC_DIR``
or ``<repo root>/../shared/ari``. Validation mirrors Asterisk's own generated validators
(res/ari/ari_model_validators.c): required fields, JSON types, nested models, and no
undocumented fields.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from telephony.ari.spec_types import (
    PRIMITIVES,
    AllowableValues,
    Model,
    Operation,
    Parameter,
    Property,
    Resource,
    parse_model,
    parse_resource,
)

SPEC_DIR_ENV = "HUITONG_ARI_SPEC_DIR"
__all__ = [
    "SPEC_DIR_ENV",
    "AllowableValues",
    "AriSpec",
    "Model",
    "Operation",
    "Parameter",
    "Property",
    "Resource",
    "SpecNotFoundError",
    "default_spec_dir",
    "find_spec_dir",
    "load_spec",
]


class SpecNotFoundError(FileNotFoundError):
    """Raised when the ARI spec files are not where configuration says they are."""


class AriSpec:
    """The whole ARI description: resources, operations, models, and checks against them."""

    def __init__(
        self, api_version: str, resources: Mapping[str, Resource], models: Mapping[str, Model]
    ):
        self.api_version = api_version
        self.resources = dict(resources)
        self.models = dict(models)
        self.operations: tuple[Operation, ...] = tuple(
            op for res in self.resources.values() for op in res.operations
        )
        self._by_route = {(op.http_method, op.path): op for op in self.operations}
        self._parent = {sub: m.id for m in self.models.values() for sub in m.sub_types}

    @classmethod
    def load(cls, spec_dir: Path) -> AriSpec:
        """Read resources.json and every api-docs file it lists."""
        index_path = spec_dir / "resources.json"
        if not index_path.is_file():
            raise SpecNotFoundError(f"ARI spec not found: no {index_path}")
        index = json.loads(index_path.read_text(encoding="utf-8"))
        resources: dict[str, Resource] = {}
        models: dict[str, Model] = {}
        for api in index["apis"]:
            # resources.json lists "/api-docs/channels.{format}"; the file is .json.
            rel = str(api["path"]).lstrip("/").replace("{format}", "json")
            doc = json.loads((spec_dir / rel).read_text(encoding="utf-8"))
            name = Path(rel).stem
            resources[name] = parse_resource(name, doc)
            for model_id, raw in doc.get("models", {}).items():
                if model_id in models:
                    raise ValueError(f"model {model_id} defined twice ({rel})")
                models[model_id] = parse_model(model_id, raw, name)
        return cls(str(index.get("apiVersion", "")), resources, models)

    # ------------------------------------------------------------------ operations

    def operation(self, http_method: str, path: str) -> Operation | None:
        """The operation for a method and a path template such as /channels/{channelId}."""
        return self._by_route.get((http_method.upper(), path))

    def check_operation(
        self,
        http_method: str,
        path: str,
        query: Iterable[str] = (),
        body: Iterable[str] = (),
        *,
        nickname: str | None = None,
        must_cover_required: bool = True,
    ) -> list[str]:
        """Problems with using (method, path, params); empty when the spec allows it."""
        route = f"{http_method.upper()} {path}"
        op = self.operation(http_method, path)
        if op is None:
            methods = sorted(m for (m, p) in self._by_route if p == path)
            hint = f" (path has {methods})" if methods else " (no such path)"
            return [f"{route}: not in the ARI spec{hint}"]
        problems: list[str] = []
        if nickname is not None and op.nickname != nickname:
            problems.append(f"{route}: spec nickname is {op.nickname!r}, not {nickname!r}")
        template_params = set(re.findall(r"{(\w+)}", path))
        if template_params != set(op.params("path")):
            problems.append(f"{route}: path params {sorted(template_params)} != spec")
        for kind, names in (("query", set(query)), ("body", set(body))):
            declared = op.params(kind)
            problems += [
                f"{route}: no {kind} parameter {n!r}" for n in sorted(names - set(declared))
            ]
            if must_cover_required:
                missing = {n for n, p in declared.items() if p.required} - names
                problems += [
                    f"{route}: required {kind} parameter {n!r} unused" for n in sorted(missing)
                ]
        return problems

    # ---------------------------------------------------------------------- models

    def ancestors(self, model_id: str) -> list[str]:
        """The model and its parents, root first (Message, Event, StasisStart)."""
        chain = [model_id]
        while chain[0] in self._parent:
            chain.insert(0, self._parent[chain[0]])
        return chain

    def all_properties(self, model_id: str) -> dict[str, Property]:
        """Properties including inherited ones (Event subtypes inherit type, timestamp...)."""
        props: dict[str, Property] = {}
        for mid in self.ancestors(model_id):
            props.update(self.models[mid].properties)
        return props

    def event_types(self) -> frozenset[str]:
        """Every concrete event type name (subtypes of Event)."""
        return frozenset(self.models["Event"].sub_types)

    def validate_event(self, event: Any) -> list[str]:
        """Problems with one WebSocket message; empty when it matches its model exactly."""
        if not isinstance(event, dict):
            return ["message is not a JSON object"]
        event_type = event.get("type")
        if not isinstance(event_type, str):
            return ["message has no string 'type'"]
        if event_type not in self.models or self.ancestors(event_type)[0] != "Message":
            return [f"unknown message type {event_type!r}"]
        return self.validate_model(event_type, event, where=event_type)

    def validate_model(self, model_id: str, value: Any, *, where: str = "") -> list[str]:
        """Problems with ``value`` as an instance of ``model_id`` (recursing into nested models)."""
        where = where or model_id
        if not isinstance(value, dict):
            return [f"{where}: expected {model_id} object, got {type(value).__name__}"]
        model = self.models[model_id]
        if model.discriminator and isinstance(value.get(model.discriminator), str):
            concrete = value[model.discriminator]
            if concrete in self.models and model_id in self.ancestors(concrete):
                model_id = concrete
        props = self.all_properties(model_id)
        problems = [f"{where}: undocumented field {k!r}" for k in value if k not in props]
        for name, prop in props.items():
            if name not in value:
                if prop.required:
                    problems.append(f"{where}: missing required field {name!r}")
                continue
            problems += self._check_type(prop.type, value[name], f"{where}.{name}")
            if prop.allowable_values is not None and isinstance(value[name], str):
                bad = prop.allowable_values.problem(value[name])
                if bad:
                    problems.append(f"{where}.{name}: {bad}")
        return problems

    def _check_type(self, type_name: str, value: Any, where: str) -> list[str]:
        if type_name.startswith("List[") and type_name.endswith("]"):
            if not isinstance(value, list):
                return [f"{where}: expected list, got {type(value).__name__}"]
            inner = type_name[5:-1]
            return [
                p for i, v in enumerate(value) for p in self._check_type(inner, v, f"{where}[{i}]")
            ]
        if type_name in self.models:
            return self.validate_model(type_name, value, where=where)
        ok = PRIMITIVES.get(type_name)
        if ok is None:
            return [f"{where}: unknown type {type_name!r} in spec"]
        if not ok(value):
            return [f"{where}: {value!r} is not a valid {type_name}"]
        return []


def default_spec_dir() -> Path:
    """``<repo root>/../shared/ari``, where the repo root is the telephony package's parent."""
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "ari"


def find_spec_dir() -> Path | None:
    """The spec directory to use, or None when it is absent (env var wins over the default)."""
    configured = os.environ.get(SPEC_DIR_ENV)
    candidate = Path(configured) if configured else default_spec_dir()
    return candidate if (candidate / "resources.json").is_file() else None


@lru_cache(maxsize=4)
def _load_cached(spec_dir: Path) -> AriSpec:
    return AriSpec.load(spec_dir)


def load_spec(spec_dir: Path | None = None) -> AriSpec:
    """Load (once per directory) the ARI spec, raising SpecNotFoundError when it is absent."""
    found = spec_dir or find_spec_dir()
    if found is None:
        raise SpecNotFoundError(
            f"ARI spec not found: set {SPEC_DIR_ENV} or provide {default_spec_dir()}"
        )
    return _load_cached(found.resolve())
