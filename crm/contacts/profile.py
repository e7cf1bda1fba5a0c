"""What contacts and companies share: owner, E.164 phones, lower-cased emails, tags and
custom fields, validated and applied by one set of rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from comms.messages.addresses import normalise_email, normalise_phone
from crm.contacts.schemas import ProfileIn, ProfilePatch


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
