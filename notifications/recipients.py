"""Who a rule's recipients are for one event: users (by id, role, department, or a user id
or role named in the payload), the event's contact, or an explicit address."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.models import Role, User
from comms.errors import InvalidInput
from comms.messages.addresses import normalise_email, normalise_phone
from notifications.rules import _MISSING, lookup

_ROLES = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class Target:
    key: str  # "user:<id>" or "addr:<address>"; one notice per (event, rule, key)
    user_id: uuid.UUID | None
    phone: str | None
    email: str | None


def _user_target(u: User) -> Target:
    return Target(f"user:{u.id}", u.id, u.mobile, u.email)


def _phone(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return normalise_phone(raw, "phone")
    except InvalidInput:
        return None


def _email(raw: Any) -> str | None:
    if not isinstance(raw, str) or "@" not in raw:
        return None
    try:
        return normalise_email(raw, "email")
    except InvalidInput:
        return None


async def resolve(
    session: AsyncSession,
    specs: Sequence[dict[str, Any]],
    payload: dict[str, Any],
    memo: dict[Any, list[User]] | None = None,
) -> list[Target]:
    """Targets in rule order, each once; inactive users and unusable addresses dropped.
    `memo` keeps the users found per (kind, value) across the events of one batch."""
    found: dict[str, Target] = {}
    memo = {} if memo is None else memo
    for spec in specs:
        kind, value = spec.get("kind"), spec.get("value")
        users: list[User] = []
        if kind in ("user", "payload_user"):
            raw = value if kind == "user" else lookup(payload, str(value))
            try:
                uid = uuid.UUID(str(raw)) if raw is not _MISSING and raw else None
            except ValueError:
                uid = None
            if uid is not None:
                users = await _users(session, memo, "user", uid)
        elif kind in ("role", "department"):
            users = await _users(session, memo, kind, value)
        elif kind == "payload_role":
            role = lookup(payload, str(value))
            if isinstance(role, str) and role in _ROLES:
                users = await _users(session, memo, "role", role)
        elif kind == "contact":
            phone = _phone(payload.get("contact_phone"))
            email = _email(payload.get("contact_email"))
            if phone or email:
                t = Target(f"addr:{phone or email}", None, phone, email)
                found.setdefault(t.key, t)
        elif kind == "address":
            phone, email = _phone(value), _email(value)
            if phone or email:
                t = Target(f"addr:{phone or email}", None, phone, email)
                found.setdefault(t.key, t)
        for u in sorted(users, key=lambda x: str(x.id)):
            t = _user_target(u)
            found.setdefault(t.key, t)
    return list(found.values())


async def _users(
    session: AsyncSession, memo: dict[Any, list[User]], kind: str, value: Any
) -> list[User]:
    """The active users a (kind, value) names, read once per memo."""
    key = (kind, value)
    users = memo.get(key)
    if users is None:
        if kind == "user":
            u = await session.get(User, value)
            users = [u] if u is not None and u.is_active else []
        else:
            col = User.role if kind == "role" else User.department
            users = list(
                await session.scalars(select(User).where(col == value, User.is_active.is_(True)))
            )
        memo[key] = users
    return users
