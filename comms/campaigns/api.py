"""Routes for recipient groups and SMS campaigns: parse, call, serialise."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from sqlalchemy import select

from comms.campaigns import inline, report, service
from comms.campaigns.models import Campaign, RecipientGroup
from comms.campaigns.schemas import (
    CampaignOut,
    GroupCreate,
    GroupOut,
    MembersIn,
)
from comms.deps import HubDep, SessionDep, SupervisorDep, ViewerDep

router = APIRouter(prefix="/api/v1/sms", tags=["sms campaigns"])


async def _group_out(s: SessionDep, group: RecipientGroup) -> GroupOut:
    out = GroupOut.model_validate(group)
    out.member_count = await service.member_count(s, group.id)
    return out


@router.post("/groups", status_code=201, response_model=GroupOut)
async def create_group(body: GroupCreate, _: SupervisorDep, s: SessionDep) -> GroupOut:
    return await _group_out(s, await service.create_group(s, body))


@router.get("/groups", response_model=list[GroupOut])
async def list_groups(_: ViewerDep, s: SessionDep) -> list[GroupOut]:
    groups = await s.scalars(select(RecipientGroup).order_by(RecipientGroup.name).limit(500))
    return [await _group_out(s, g) for g in groups]


@router.get("/groups/{group_id}", response_model=GroupOut)
async def get_group(group_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> GroupOut:
    return await _group_out(s, await service.get_group(s, group_id))


@router.post("/groups/{group_id}/members", response_model=GroupOut)
async def add_members(
    group_id: uuid.UUID, body: MembersIn, _: SupervisorDep, s: SessionDep
) -> GroupOut:
    await service.add_members(s, group_id, body.members)
    return await _group_out(s, await service.get_group(s, group_id))


@router.post(
    "/campaigns", status_code=202, response_model=CampaignOut, openapi_extra=inline.openapi_body()
)
async def create_campaign(
    request: Request, _: SupervisorDep, s: SessionDep, hub: HubDep
) -> CampaignOut:
    """The body as CampaignCreate; up to 100,000 inline recipients, read a chunk at a time."""
    data, recipients = inline.read(await request.body(), request.headers.get("content-type"))
    camp = await service.create_campaign(s, hub.settings, data, hub.queries, recipients)
    return await report.campaign_out(s, hub.settings, camp)


@router.get("/campaigns", response_model=list[CampaignOut])
async def list_campaigns(_: ViewerDep, s: SessionDep, hub: HubDep) -> list[CampaignOut]:
    rows = await s.scalars(select(Campaign).order_by(Campaign.created_at.desc()).limit(100))
    return [await report.campaign_out(s, hub.settings, c) for c in rows]


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(
    campaign_id: uuid.UUID, _: ViewerDep, s: SessionDep, hub: HubDep
) -> CampaignOut:
    camp = await report.get_campaign(s, campaign_id)
    return await report.campaign_out(s, hub.settings, camp)
