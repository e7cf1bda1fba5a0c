"""VPMN routes: plan, members, resolution, tariff, CDRs and monthly bills."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from comms.deps import AdminDep, SessionDep, ViewerDep
from telephony.vpmn import bills, service
from telephony.vpmn.resolve import Resolution
from telephony.vpmn.schemas import (
    BillOut,
    CdrIn,
    CdrOut,
    MemberIn,
    MemberOut,
    MemberUpdate,
    PlanIn,
    PlanOut,
    ResolveOut,
    TargetOut,
    TariffIn,
    TariffOut,
)

router = APIRouter(prefix="/api/v1/vpmn", tags=["vpmn"])


def _this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


@router.get("/plan", response_model=PlanOut)
async def get_plan(actor: ViewerDep, s: SessionDep) -> object:
    plan = await service.get_plan(s)
    if plan is None:
        return PlanOut(**service.DEFAULT_PLAN.model_dump(), configured=False)
    return plan


@router.put("/plan", response_model=PlanOut)
async def put_plan(body: PlanIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.set_plan(s, actor, body)


@router.get("/members", response_model=list[MemberOut])
async def list_members(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_members(s)


@router.post("/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED)
async def create_member(body: MemberIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.create_member(s, actor, body)


@router.get("/members/{member_id}", response_model=MemberOut)
async def get_member(member_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_member(s, member_id)


@router.patch("/members/{member_id}", response_model=MemberOut)
async def update_member(
    member_id: uuid.UUID, body: MemberUpdate, actor: AdminDep, s: SessionDep
) -> object:
    return await service.update_member(s, actor, member_id, body)


@router.delete("/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_member(member_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> None:
    await service.delete_member(s, actor, member_id)


def _resolution_out(r: Resolution) -> ResolveOut:
    def member(m: object) -> MemberOut | None:
        return None if m is None else MemberOut.model_validate(m, from_attributes=True)

    return ResolveOut(
        action=r.action,
        dialled=r.dialled,
        in_network=r.in_network,
        short_number=r.short_number,
        member=member(r.member),
        caller_member=member(r.caller_member),
        strategy=r.strategy,
        targets=[
            TargetOut(kind=t.kind, endpoint=t.endpoint, step=t.step, timeout=t.timeout)
            for t in r.targets
        ],
        announcement=r.announcement,
    )


@router.get("/resolve", response_model=ResolveOut)
async def resolve(
    actor: ViewerDep,
    s: SessionDep,
    caller: Annotated[str, Query(alias="from", max_length=100)] = "",
    dial: Annotated[str, Query(max_length=100)] = "",
) -> object:
    """What the Stasis app would do with this call (an empty ``dial`` is an unknown number)."""
    return _resolution_out(await service.resolve_dial(s, caller=caller, dialled=dial))


@router.get("/tariff", response_model=TariffOut | None)
async def get_tariff(actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_tariff(s)


@router.put("/tariff", response_model=TariffOut)
async def put_tariff(body: TariffIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.set_tariff(s, actor, body)


@router.post("/cdrs", response_model=CdrOut, status_code=status.HTTP_201_CREATED)
async def post_cdr(body: CdrIn, actor: AdminDep, s: SessionDep) -> object:
    """Import a call made elsewhere (e.g. a carrier's mobile CDR); rated like our own."""
    return await service.record_cdr(s, actor.tenant_id, body)


@router.get("/cdrs", response_model=list[CdrOut])
async def list_cdrs(
    actor: ViewerDep,
    s: SessionDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> object:
    return await bills.month_cdrs(s, actor.tenant_id, month or _this_month())


@router.get("/bills", response_model=BillOut)
async def get_bills(
    actor: ViewerDep,
    s: SessionDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    by: Literal["member", "department"] = "member",
    format: Literal["json", "csv"] = "json",
) -> object:
    """The month's bill (amounts in fen); ``format=csv`` downloads it as a spreadsheet."""
    month = month or _this_month()
    bill = await bills.monthly_bill(s, actor.tenant_id, month, by)
    if format == "csv":
        return Response(
            bills.bill_csv(bill),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="vpmn-{by}-{month}.csv"'},
        )
    return bill
