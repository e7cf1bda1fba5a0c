"""A campaign POST's inline recipients, read from the raw body a chunk at a time.

100,000 inline recipients are 3+ MB of JSON; parsed whole into models and row dicts they
cost `serve` ~150 MB at the peak. Here the body stays bytes: a first pass (ijson events)
builds the other fields and only counts the recipients, and `chunks()` then parses and
validates CHUNK recipients at a time, so the service inserts each before the next is read.
Errors keep FastAPI's shape (`RequestValidationError`, loc `body.recipients.<i>...`).
"""

from __future__ import annotations

import email.message
import itertools
import json
from typing import TYPE_CHECKING, Any, Protocol

import ijson
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from comms.campaigns.schemas import MAX_RECIPIENTS, CampaignCreate, MemberIn

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

CHUNK = 1000
_MEMBERS = TypeAdapter(list[MemberIn])
_STARTS = {"start_map", "start_array"}
_ENDS = {"end_map", "end_array"}


def openapi_body() -> dict[str, Any]:
    """The request body for the docs: the route reads the raw body, so FastAPI cannot."""
    schema = CampaignCreate.model_json_schema()
    # Inlined: a $ref into components would depend on names FastAPI gives colliding models.
    defs = schema.pop("$defs", {})

    def inlined(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return inlined({**defs[ref.rsplit("/", 1)[1]], **rest})
            return {k: inlined(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inlined(v) for v in node]
        return node

    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inlined(schema)}},
        }
    }


class Recipients(Protocol):
    """Inline recipients: how many were given, then (index of the first, members) chunks."""

    count: int

    def chunks(self) -> Iterator[tuple[int, Sequence[MemberIn]]]: ...


class ListRecipients:
    """Recipients already in memory (`CampaignCreate.recipients`), in the same chunks."""

    def __init__(self, members: Sequence[MemberIn]) -> None:
        self.count = len(members)
        self._members = members

    def chunks(self) -> Iterator[tuple[int, Sequence[MemberIn]]]:
        for start in range(0, self.count, CHUNK):
            yield start, self._members[start : start + CHUNK]


class StreamedRecipients:
    """The recipients array of a raw body, parsed and validated CHUNK at a time."""

    def __init__(self, raw: bytes, count: int) -> None:
        self.count = count
        self._raw = raw

    def chunks(self) -> Iterator[tuple[int, Sequence[MemberIn]]]:
        items = ijson.items(self._raw, "recipients.item", use_float=True)
        for start in range(0, self.count, CHUNK):
            batch = list(itertools.islice(items, CHUNK))
            try:
                members = _MEMBERS.validate_python(batch)
            except ValidationError as exc:
                errors = _errors(exc, "body", "recipients", offset=start)
                raise RequestValidationError(errors) from None
            del batch
            yield start, members


def _errors(exc: ValidationError, *prefix: str | int, offset: int = 0) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if offset and loc and isinstance(loc[0], int):
            loc = (loc[0] + offset, *loc[1:])
        out.append({**err, "loc": (*prefix, *loc)})
    return out


def _validate_whole(body: Any) -> tuple[CampaignCreate, ListRecipients]:
    try:
        data = CampaignCreate.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(_errors(exc, "body")) from None
    members, data.recipients = data.recipients, []
    return data, ListRecipients(members)


def _scan(raw: bytes) -> tuple[dict[str, Any], int] | None:
    """The top-level fields but a recipients array, and that array's length; None when the
    body is anything else than one object with at most one recipients array."""
    events = ijson.parse(raw, use_float=True)
    first = next(events, None)
    if first is None or first[1] != "start_map":
        return None
    top: dict[str, Any] = {}
    count, depth, key, counting = -1, 0, "", False
    builder: Any = None
    for _, event, value in events:
        if depth == 0:
            if event == "end_map":
                break
            if event == "map_key":
                key = value
                continue
            counting = key == "recipients" and event == "start_array"
            if counting:
                if count >= 0:  # the key twice: json.loads keeps the last, so leave it to it
                    return None
                count = 0
            else:
                builder = ijson.ObjectBuilder()
        if counting:
            if depth == 1 and event not in _ENDS:
                count += 1
        else:
            builder.event(event, value)
        if event in _STARTS:
            depth += 1
        elif event in _ENDS:
            depth -= 1
        if depth == 0 and not counting:
            top[key] = builder.value
    for _ in events:  # anything after the object is an error, raised here
        pass
    return top, max(count, 0)


def read(raw: bytes, content_type: str | None) -> tuple[CampaignCreate, Recipients]:
    """The campaign's fields (recipients left empty) and its recipients in chunks; a 422
    like FastAPI's for a body that is not JSON, a field that fails, or too many recipients."""
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (
            subtype == "json" or subtype.endswith("+json")
        ):
            return _validate_whole(raw)
    try:
        scanned = _scan(raw)
    except ijson.JSONError:
        scanned = None  # json.loads below gives FastAPI's own error (or takes what yajl won't)
    if scanned is None:
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as e:
            invalid = {
                "type": "json_invalid",
                "loc": ("body", e.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": e.msg},
            }
            raise RequestValidationError([invalid], body=e.doc) from None
        return _validate_whole(body)
    top, count = scanned
    try:
        data = CampaignCreate.model_validate(top)
    except ValidationError as exc:
        raise RequestValidationError(_errors(exc, "body")) from None
    if count > MAX_RECIPIENTS:
        too_long = {
            "type": "too_long",
            "loc": ("body", "recipients"),
            "msg": f"List should have at most {MAX_RECIPIENTS} items after validation, not {count}",
            "input": None,
            "ctx": {"field_type": "List", "max_length": MAX_RECIPIENTS, "actual_length": count},
        }
        raise RequestValidationError([too_long])
    return data, StreamedRecipients(raw, count)
