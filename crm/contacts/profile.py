"""What contacts and companies share: owner, E.164 phones, lower-cased emails, tags and
custom fields, validated and applied by one set of rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from comms.messages.addresses import normalise_email, normalise_phone
from crm.contacts.schemas import ProfileIn, ProfilePatch

Row = TypeVar("Row")


class Profiled(Protocol):
    owner_id: uuid.UUID | None
    tags: list[str]
    custom_fields: dict[str, Any]


def phones(raw: Sequence[str]) -> list[str]:
    """E.164, in the order given, repeats dropped; a bad one is a 422 naming `phones[i]`."""
    out: list[str] = []
    for i, p in enumerate(raw):
        e164 = normalise_phone(p, field=f"phones[{i}]")
        if e164 not in out:
            out.append(e164)
    return out


def emails(raw: Sequence[str]) -> list[str]:
    """Lower-cased, repeats dropped; a malformed one is a 422 naming `emails[i]`."""
    out: list[str] = []
    for i, e in enumerate(raw):
        addr = normalise_email(e, field=f"emails[{i}]")
        if addr not in out:
            out.append(addr)
    return out


def given_phones(body: ProfilePatch) -> list[str] | None:
    """The patch's phones normalised, or None when the patch leaves them alone."""
    return None if body.phones is None else phones(body.phones)


def given_emails(body: ProfilePatch) -> list[str] | None:
    return None if body.emails is None else emails(body.emails)


def fill(target: Profiled, body: ProfileIn) -> None:
    """Owner, tags (repeats dropped) and custom fields of a new contact or company."""
    target.owner_id = body.owner_id
    target.tags = list(dict.fromkeys(body.tags))
    target.custom_fields = dict(body.custom_fields)


def patch(target: Profiled, body: ProfilePatch) -> None:
    """Owner if given (null clears it), tags replaced, custom fields merged key by key."""
    if "owner_id" in body.model_fields_set:
        target.owner_id = body.owner_id
    if body.tags is not None:
        target.tags = list(dict.fromkeys(body.tags))
    if body.custom_fields is not None:
        target.custom_fields = {**target.custom_fields, **body.custom_fields}


def reindexed(
    rows: Sequence[Row], values: list[str], key: Callable[[Row], str], make: Callable[[str], Row]
) -> list[Row]:
    """The index rows for `values`: a kept value keeps its row (deleting and re-adding it in
    one flush would hit the per-tenant unique constraint, inserts go first), new ones get one."""
    keep = {key(r): r for r in rows}
    return [keep.get(v) or make(v) for v in values]


async def first_taken(
    s: AsyncSession,
    value: InstrumentedAttribute[str],
    owner: InstrumentedAttribute[uuid.UUID],
    values: list[str],
    mine: uuid.UUID | None,
) -> int | None:
    """Where in `values` the first one another owner already indexes is (per tenant: the
    session is scoped), or None; one query for the list."""
    if not values:
        return None
    where: list[ColumnElement[bool]] = [value.in_(values)]
    if mine is not None:
        where.append(owner != mine)
    taken = set(await s.scalars(select(value).where(*where)))
    return min((values.index(v) for v in taken), default=None)
