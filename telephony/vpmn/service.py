"""VPMN use cases: plan, members, dialling resolution, tariff, CDRs (bills: `bills.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.errors import Conflict, InvalidInput, NotFound
from telephony.vpmn.models import Cdr, Member, NumberingPlan, TariffPlan
from telephony.vpmn.rating import Tariff, classify, rate_call
from telephony.vpmn.resolve import MemberView, PlanView, Resolution, is_short_number, resolve
from telephony.vpmn.schemas import CdrIn, MemberIn, MemberUpdate, PlanIn, TariffIn

# Until a tenant saves a plan: four-digit short numbers starting 6 or 8 (a common carrier
# default for group short numbers).
DEFAULT_PLAN = PlanIn(short_length=4, prefixes=["6", "8"])
FREE = Tariff(in_network_rate=0, on_net_mobile_rate=0, off_net_rate=0)

# ------------------------------------------------------------------ numbering plan


async def get_plan(session: AsyncSession) -> NumberingPlan | None:
    return await session.scalar(select(NumberingPlan))


async def plan_view(session: AsyncSession) -> PlanView:
    plan = await get_plan(session)
    data = DEFAULT_PLAN if plan is None else PlanIn.model_validate(plan, from_attributes=True)
    return PlanView(
        short_length=data.short_length,
        prefixes=tuple(data.prefixes),
        trunk_endpoint=data.trunk_endpoint,
        unknown_announcement=data.unknown_announcement,
    )


async def set_plan(session: AsyncSession, actor: Principal, data: PlanIn) -> NumberingPlan:
    """Save the plan; refused while members hold short numbers the new plan would not allow."""
    view = PlanView(short_length=data.short_length, prefixes=tuple(data.prefixes))
    misfits = [
        m.short_number
        for m in await list_members(session)
        if not is_short_number(view, m.short_number)
    ]
    if misfits:
        raise Conflict(
            f"members' short numbers would not fit the plan: {', '.join(sorted(misfits)[:10])}",
            field="short_length",
        )
    plan = await get_plan(session)
    if plan is None:
        plan = NumberingPlan(tenant_id=actor.tenant_id, **data.model_dump())
        session.add(plan)
    else:
        for key, value in data.model_dump().items():
            setattr(plan, key, value)
    await session.flush()
    audit.record(session, actor, "vpmn.plan.set", "vpmn_plan", plan.id, data.model_dump())
    await session.commit()
    return plan


# ------------------------------------------------------------------ members


async def list_members(session: AsyncSession) -> list[Member]:
    return list(await session.scalars(select(Member).order_by(Member.short_number)))


async def get_member(session: AsyncSession, member_id: uuid.UUID) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("member not found")
    return member


async def _check_short_number(session: AsyncSession, short_number: str) -> None:
    plan = await plan_view(session)
    if not is_short_number(plan, short_number):
        raise InvalidInput(
            f"short numbers here have {plan.short_length} digits and start with "
            f"{' or '.join(plan.prefixes)}",
            field="short_number",
        )


async def _flush_unique(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            "another member already has this short number or mobile", field="short_number"
        ) from None


async def create_member(session: AsyncSession, actor: Principal, data: MemberIn) -> Member:
    await _check_short_number(session, data.short_number)
    member = Member(tenant_id=actor.tenant_id, **data.model_dump())
    session.add(member)
    await _flush_unique(session)
    audit.record(session, actor, "vpmn.member.create", "vpmn_member", member.id, data.model_dump())
    await session.commit()
    return member


async def update_member(
    session: AsyncSession, actor: Principal, member_id: uuid.UUID, data: MemberUpdate
) -> Member:
    member = await get_member(session, member_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("short_number") is not None:
        await _check_short_number(session, changes["short_number"])
    for key in ("name", "short_number", "strategy", "desk_timeout", "mobile_timeout"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be null", field=key)
    for key, value in changes.items():
        setattr(member, key, value)
    if not member.mobile and not member.desk_endpoint:
        raise InvalidInput("a member needs a mobile, a desk endpoint, or both", field="mobile")
    await _flush_unique(session)
    audit.record(session, actor, "vpmn.member.update", "vpmn_member", member.id, changes)
    await session.commit()
    return member


async def delete_member(session: AsyncSession, actor: Principal, member_id: uuid.UUID) -> None:
    member = await get_member(session, member_id)
    await session.delete(member)
    audit.record(session, actor, "vpmn.member.delete", "vpmn_member", member_id)
    await session.commit()


def member_view(m: Member) -> MemberView:
    return MemberView(
        id=m.id,
        name=m.name,
        department=m.department,
        short_number=m.short_number,
        mobile=m.mobile,
        desk_endpoint=m.desk_endpoint,
        strategy=m.strategy,
        desk_timeout=m.desk_timeout,
        mobile_timeout=m.mobile_timeout,
    )


# ------------------------------------------------------------------ resolution


async def resolve_dial(session: AsyncSession, *, caller: str, dialled: str) -> Resolution:
    """What a call from ``caller`` dialling ``dialled`` does in this tenant's VPMN."""
    plan = await plan_view(session)
    members = [member_view(m) for m in await list_members(session)]
    return resolve(plan, members, caller=caller, dialled=dialled)


# ------------------------------------------------------------------ tariff and CDRs


async def get_tariff(session: AsyncSession) -> TariffPlan | None:
    return await session.scalar(select(TariffPlan))


async def set_tariff(session: AsyncSession, actor: Principal, data: TariffIn) -> TariffPlan:
    tariff = await get_tariff(session)
    if tariff is None:
        tariff = TariffPlan(tenant_id=actor.tenant_id, **data.model_dump())
        session.add(tariff)
    else:
        for key, value in data.model_dump().items():
            setattr(tariff, key, value)
    await session.flush()
    audit.record(session, actor, "vpmn.tariff.set", "vpmn_tariff", tariff.id, data.model_dump())
    await session.commit()
    return tariff


def _tariff(row: TariffPlan | None) -> Tariff:
    if row is None:
        return FREE
    return Tariff(
        in_network_rate=row.in_network_rate,
        on_net_mobile_rate=row.on_net_mobile_rate,
        off_net_rate=row.off_net_rate,
        increment_seconds=row.increment_seconds,
        minimum_charge=row.minimum_charge,
        in_network_discount_pct=row.in_network_discount_pct,
        on_net_prefixes=tuple(row.on_net_prefixes),
    )


async def record_cdr(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    data: CdrIn,
    *,
    commit: bool = True,
    directory: tuple[PlanView, Sequence[MemberView]] | None = None,
) -> Cdr:
    """Rate and store one finished call; a repeated ``call_ref`` returns the stored record.

    ``directory``: the plan and members to rate with when the caller holds them (the Stasis
    app's cached copy); otherwise they are read.
    """
    existing = await session.scalar(select(Cdr).where(Cdr.call_ref == data.call_ref))
    if existing is not None:
        return existing
    if directory is None:
        resolution = await resolve_dial(session, caller=data.caller, dialled=data.callee)
    else:
        resolution = resolve(*directory, caller=data.caller, dialled=data.callee)
    payer = resolution.caller_member
    callee = resolution.member
    billable = 0
    if data.answered_at is not None:
        billable = max(0, int((data.ended_at - data.answered_at).total_seconds()))
    tariff = _tariff(await get_tariff(session))
    tariff_class = classify(
        tariff, in_network=resolution.in_network, callee_e164=resolution.dialled
    )
    # Only calls a member places are the tenant's to pay; inbound calls from outside are
    # recorded (for reports) at no charge.
    rating = rate_call(tariff if payer is not None else FREE, tariff_class, billable)
    cdr = Cdr(
        tenant_id=tenant_id,
        call_ref=data.call_ref,
        caller=data.caller,
        callee=data.callee,
        caller_member_id=payer.id if payer else None,
        callee_member_id=callee.id if callee else None,
        billed_member=payer.name if payer else "",
        billed_department=payer.department if payer else "",
        started_at=data.started_at,
        answered_at=data.answered_at,
        ended_at=data.ended_at,
        billable_seconds=billable,
        disposition=data.disposition,
        in_network=resolution.in_network,
        tariff_class=tariff_class,
        charged_seconds=rating.charged_seconds,
        rate=rating.rate,
        charge=rating.charge,
        recording_ref=data.recording_ref,
    )
    session.add(cdr)
    await session.flush()
    if commit:
        await session.commit()
    return cdr
