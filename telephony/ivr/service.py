"""IVR use cases: author drafts, validate, publish, and map entry numbers to flows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput, NotFound
from telephony.ivr.models import Entry, Flow, FlowVersion, VersionStatus
from telephony.ivr.validate import Problem, Targets, validate
from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import to_e164


class FlowInvalid(InvalidInput):
    """Publishing refused: the draft has problems (listed in ``problems``)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            f"flow has {len(problems)} problem(s): {problems[0].message}", field="document"
        )
        self.problems = problems


async def create_flow(
    session: AsyncSession, actor: Principal, name: str, document: dict[str, Any]
) -> Flow:
    """A new flow whose first version is a draft (drafts may be invalid while being edited)."""
    flow = Flow(tenant_id=actor.tenant_id, name=name)
    session.add(flow)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("a flow with this name already exists", field="name") from None
    session.add(
        FlowVersion(
            tenant_id=actor.tenant_id,
            flow_id=flow.id,
            version=1,
            status=VersionStatus.DRAFT,
            document=document,
        )
    )
    audit.record(session, actor, "ivr.flow.create", "ivr_flow", flow.id, {"name": name})
    await session.commit()
    return flow


async def list_flows(session: AsyncSession) -> list[Flow]:
    return list(await session.scalars(select(Flow).order_by(Flow.name)))


async def get_flow(session: AsyncSession, flow_id: uuid.UUID) -> Flow:
    flow = await session.get(Flow, flow_id)
    if flow is None:
        raise NotFound("flow not found")
    return flow


async def version_with(
    session: AsyncSession, flow_id: uuid.UUID, status: VersionStatus
) -> FlowVersion | None:
    q = select(FlowVersion).where(FlowVersion.flow_id == flow_id, FlowVersion.status == status)
    return await session.scalar(q)


async def save_draft(
    session: AsyncSession, actor: Principal, flow_id: uuid.UUID, document: dict[str, Any]
) -> FlowVersion:
    """Replace the draft, or start one on top of the published version."""
    await get_flow(session, flow_id)
    draft = await version_with(session, flow_id, VersionStatus.DRAFT)
    if draft is None:
        last = await session.scalar(
            select(func.max(FlowVersion.version)).where(FlowVersion.flow_id == flow_id)
        )
        draft = FlowVersion(
            tenant_id=actor.tenant_id,
            flow_id=flow_id,
            version=int(last or 0) + 1,
            status=VersionStatus.DRAFT,
            document=document,
        )
        session.add(draft)
    else:
        draft.document = document
    await session.flush()
    audit.record(session, actor, "ivr.flow.draft", "ivr_flow", flow_id, {"version": draft.version})
    await session.commit()
    return draft


async def targets(session: AsyncSession) -> Targets:
    """What this tenant's routes may name (queues are not checked until the ACD slice lands)."""
    members = await vpmn.list_members(session)
    return Targets(
        short_numbers={m.short_number for m in members},
        queues=None,
        valid_external=lambda v: to_e164(v) is not None,
    )


async def check_draft(session: AsyncSession, flow_id: uuid.UUID) -> list[Problem]:
    await get_flow(session, flow_id)
    draft = await version_with(session, flow_id, VersionStatus.DRAFT)
    if draft is None:
        raise NotFound("flow has no draft")
    return validate(draft.document, await targets(session))


async def publish(session: AsyncSession, actor: Principal, flow_id: uuid.UUID) -> FlowVersion:
    """Publish the draft if it validates; the previously published version retires."""
    problems = await check_draft(session, flow_id)
    if problems:
        raise FlowInvalid(problems)
    draft = await version_with(session, flow_id, VersionStatus.DRAFT)
    assert draft is not None
    current = await version_with(session, flow_id, VersionStatus.PUBLISHED)
    if current is not None:
        current.status = VersionStatus.RETIRED
        await session.flush()
    draft.status = VersionStatus.PUBLISHED
    draft.published_at = utcnow()
    await session.flush()
    audit.record(
        session, actor, "ivr.flow.publish", "ivr_flow", flow_id, {"version": draft.version}
    )
    await session.commit()
    return draft


async def create_entry(
    session: AsyncSession, actor: Principal, did: str, flow_id: uuid.UUID
) -> Entry:
    if (
        await version_with(session, (await get_flow(session, flow_id)).id, VersionStatus.PUBLISHED)
        is None
    ):
        raise Conflict("publish the flow before giving it an entry number", field="flow_id")
    entry = Entry(tenant_id=actor.tenant_id, did=did, flow_id=flow_id)
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("this number already starts a flow", field="did") from None
    audit.record(session, actor, "ivr.entry.create", "ivr_entry", entry.id, {"did": did})
    await session.commit()
    return entry


async def list_entries(session: AsyncSession) -> list[Entry]:
    return list(await session.scalars(select(Entry).order_by(Entry.did)))


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> Entry:
    entry = await session.get(Entry, entry_id)
    if entry is None:
        raise NotFound("entry not found")
    return entry


async def delete_entry(session: AsyncSession, actor: Principal, entry_id: uuid.UUID) -> None:
    entry = await get_entry(session, entry_id)
    await session.delete(entry)
    audit.record(session, actor, "ivr.entry.delete", "ivr_entry", entry_id)
    await session.commit()
