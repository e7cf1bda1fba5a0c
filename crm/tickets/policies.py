"""SLA policy use cases: create, read, edit and delete a tenant's policies (admin).

A policy's calendar is checked here, naming the field at fault, because a bad one would only
fail later, when a ticket's deadlines are computed. Editing a policy does not move the
deadlines of tickets already under it: those were fixed when set (creation, or a later change
of the ticket's priority or policy), as a customer was told them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import Conflict, InvalidInput, NotFound
from crm.tickets.models import SlaPolicy, Ticket, TicketStatus
from crm.tickets.schemas import SlaPolicyIn, SlaPolicyPatch
from crm.tickets.sla import BusinessCalendar


def check_calendar(tz: str, hours: Mapping[str, Iterable[str]], holidays: Iterable[str]) -> None:
    """Refuse a zone, working hours or holiday date that cannot be used (422 naming it)."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError):
        raise InvalidInput(f"timezone: {tz!r} is not an IANA time zone", field="timezone") from None
    for i, day in enumerate(holidays):
        try:
            date.fromisoformat(day)
        except ValueError:
            where = f"holidays[{i}]"
            raise InvalidInput(f"{where}: {day!r} is not a YYYY-MM-DD date", field=where) from None
    try:
        cal = BusinessCalendar.parse(tz, hours, ())
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"hours: {exc}", field="hours") from None
    if not cal.hours:
        raise InvalidInput("hours: give the working hours of at least one weekday", field="hours")


async def _only_default(s: AsyncSession, p: SlaPolicy) -> None:
    await s.execute(update(SlaPolicy).where(SlaPolicy.id != p.id).values(is_default=False))


async def create_policy(s: AsyncSession, body: SlaPolicyIn) -> SlaPolicy:
    """A new policy; made the default, it stops another being one."""
    check_calendar(body.timezone, body.hours, body.holidays)
    p = SlaPolicy(
        name=body.name,
        timezone=body.timezone,
        hours=body.hours,
        holidays=body.holidays,
        targets={k.value: v for k, v in body.targets.items()},
        is_default=body.is_default,
    )
    s.add(p)
    await s.flush()
    if p.is_default:
        await _only_default(s, p)
    return p


async def get_policy(s: AsyncSession, policy_id: uuid.UUID) -> SlaPolicy:
    p = await s.get(SlaPolicy, policy_id)
    if p is None:
        raise NotFound("SLA policy not found")
    return p


async def list_policies(s: AsyncSession) -> list[SlaPolicy]:
    return list(await s.scalars(select(SlaPolicy).order_by(SlaPolicy.name, SlaPolicy.id)))


async def update_policy(s: AsyncSession, p: SlaPolicy, body: SlaPolicyPatch) -> list[str]:
    """Apply the fields given; `targets` merge per priority (null: back to the built-in
    targets). Returns the names of the fields that changed."""
    given = body.model_fields_set
    tz = body.timezone if body.timezone is not None else p.timezone
    hours = body.hours if body.hours is not None else p.hours
    holidays = body.holidays if body.holidays is not None else p.holidays
    check_calendar(tz, hours, holidays)
    new: dict[str, object] = {"timezone": tz, "hours": hours, "holidays": holidays}
    if body.name is not None:
        new["name"] = body.name
    if body.targets is not None:
        targets = dict(p.targets)
        for prio, t in body.targets.items():
            if t is None:
                targets.pop(prio.value, None)
            else:
                targets[prio.value] = t
        new["targets"] = targets
    if "is_default" in given and body.is_default is not None:
        new["is_default"] = body.is_default
    changed = [k for k, v in new.items() if getattr(p, k) != v]
    for k in changed:
        setattr(p, k, new[k])
    await s.flush()
    if p.is_default and "is_default" in changed:
        await _only_default(s, p)
    return changed


async def delete_policy(s: AsyncSession, p: SlaPolicy) -> None:
    """Refused (409) while a ticket that is not closed uses it: its deadlines could still be
    recomputed (priority change, reopening). Closed tickets keep their deadlines, unlinked."""
    in_use = await s.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.sla_policy_id == p.id, Ticket.status != TicketStatus.CLOSED)
    )
    if in_use:
        raise Conflict(
            f"sla policy: {in_use} ticket(s) not closed still use it; "
            "move them to another policy (PATCH the ticket's sla_policy_id) first",
            field="sla_policy_id",
        )
    await s.execute(
        update(Ticket)
        .where(Ticket.sla_policy_id == p.id)
        .values(sla_policy_id=None)
        .execution_options(synchronize_session=False)
    )
    await s.delete(p)
    await s.flush()
