"""Ringback use cases: upload tones, manage rules, and pick the tone for a call."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.db.tenancy import current_tenant
from comms.errors import Conflict, InvalidInput, NotFound
from comms.tenants.models import Tenant
from telephony.ringback import audio, files
from telephony.ringback.models import Rule, Tone
from telephony.ringback.rules import RuleView, pick_rule
from telephony.ringback.schemas import RuleIn
from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import Resolution, find_member


async def create_tone(
    session: AsyncSession,
    actor: Principal,
    name: str,
    data: bytes,
    *,
    sounds_dir: Path | None = None,
) -> Tone:
    """Validate, convert for Asterisk and store an uploaded WAV or MP3.

    With ``sounds_dir`` the WAV is also written where Asterisk plays it from, before the
    commit: a tone a rule can pick always has its file (a failed commit removes it again).
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a tone needs a name of 1-200 characters", field="name")
    try:
        info = audio.probe(data)
        wav = audio.to_asterisk_wav(data, info)
    except audio.AudioError as exc:
        raise InvalidInput(str(exc), field="audio") from None
    tone = Tone(
        tenant_id=actor.tenant_id,
        name=name,
        duration=info.duration,
        original_format=info.format,
        size=len(wav),
        audio=wav,
    )
    session.add(tone)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("a tone with this name already exists", field="name") from None
    audit.record(session, actor, "ringback.tone.create", "ringback_tone", tone.id, {"name": name})
    if sounds_dir is not None:
        try:
            files.write_tone(sounds_dir, tone.id, wav)
        except OSError as exc:
            await session.rollback()
            raise InvalidInput(
                f"cannot write the tone for Asterisk: {exc}", field="audio"
            ) from None
    try:
        await session.commit()
    except BaseException:
        if sounds_dir is not None:
            files.remove_tone(sounds_dir, tone.id)
        raise
    return tone


async def list_tones(session: AsyncSession) -> list[Tone]:
    return list(await session.scalars(select(Tone).order_by(Tone.name)))


async def get_tone(session: AsyncSession, tone_id: uuid.UUID) -> Tone:
    tone = await session.get(Tone, tone_id)
    if tone is None:
        raise NotFound("tone not found")
    return tone


async def tone_audio(session: AsyncSession, tone_id: uuid.UUID) -> bytes:
    tone = await get_tone(session, tone_id)
    data: bytes = await session.scalar(select(Tone.audio).where(Tone.id == tone.id)) or b""
    return data


async def delete_tone(
    session: AsyncSession,
    actor: Principal,
    tone_id: uuid.UUID,
    *,
    sounds_dir: Path | None = None,
) -> None:
    """Delete a tone, the rules that play it, and its file in Asterisk's sounds directory."""
    tone = await get_tone(session, tone_id)
    for rule in await session.scalars(select(Rule).where(Rule.tone_id == tone_id)):
        await session.delete(rule)
    await session.delete(tone)
    audit.record(session, actor, "ringback.tone.delete", "ringback_tone", tone_id)
    await session.commit()
    if sounds_dir is not None:
        files.remove_tone(sounds_dir, tone_id)


async def create_rule(session: AsyncSession, actor: Principal, data: RuleIn) -> Rule:
    await get_tone(session, data.tone_id)
    if data.member_id is not None:
        await vpmn.get_member(session, data.member_id)
    rule = Rule(tenant_id=actor.tenant_id, **data.model_dump())
    session.add(rule)
    await session.flush()
    audit.record(
        session,
        actor,
        "ringback.rule.create",
        "ringback_rule",
        rule.id,
        data.model_dump(mode="json"),
    )
    await session.commit()
    return rule


async def list_rules(session: AsyncSession) -> list[Rule]:
    q = select(Rule).order_by(Rule.priority.desc(), Rule.created_at)
    return list(await session.scalars(q))


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> Rule:
    rule = await session.get(Rule, rule_id)
    if rule is None:
        raise NotFound("rule not found")
    return rule


async def delete_rule(session: AsyncSession, actor: Principal, rule_id: uuid.UUID) -> None:
    rule = await get_rule(session, rule_id)
    await session.delete(rule)
    audit.record(session, actor, "ringback.rule.delete", "ringback_rule", rule_id)
    await session.commit()


def _view(r: Rule) -> RuleView:
    return RuleView(
        id=r.id,
        tone_id=r.tone_id,
        scope=r.scope,
        priority=r.priority,
        department=r.department,
        member_id=r.member_id,
        weekdays=tuple(r.weekdays),
        start_time=r.start_time,
        end_time=r.end_time,
        start_date=r.start_date,
        end_date=r.end_date,
        created_at=r.created_at,
    )


async def local_time(session: AsyncSession, at: datetime) -> datetime:
    """``at`` on the tenant's wall clock: rules say "weekdays 09:00-18:00" in local time."""
    tenant = await session.get(Tenant, current_tenant(session))
    return at.astimezone(ZoneInfo(tenant.timezone if tenant else "Asia/Shanghai"))


async def pick(
    session: AsyncSession, member_id: uuid.UUID | None, department: str | None, at: datetime
) -> tuple[Tone | None, Rule | None, datetime]:
    local = await local_time(session, at)
    rules = await list_rules(session)
    chosen = pick_rule(
        [_view(r) for r in rules], member_id=member_id, department=department, local=local
    )
    if chosen is None:
        return None, None, local
    rule = next(r for r in rules if r.id == chosen.id)
    return await get_tone(session, rule.tone_id), rule, local


async def resolve_for_callee(
    session: AsyncSession, callee: str, at: datetime
) -> tuple[Tone | None, Rule | None, datetime, uuid.UUID | None, str | None]:
    """The tone a caller hears when calling ``callee`` (short number or mobile) at ``at``."""
    plan = await vpmn.plan_view(session)
    members = [vpmn.member_view(m) for m in await vpmn.list_members(session)]
    member = find_member(plan, members, callee)
    member_id = member.id if member else None
    department = member.department if member else None
    tone, rule, local = await pick(session, member_id, department, at)
    return tone, rule, local, member_id, department


async def ringback_lookup(
    session: AsyncSession, resolution: Resolution, at: datetime
) -> str | None:
    """For the Stasis app: the tone's media URI for this call, or None for plain ringing."""
    member = resolution.member
    tone, _, _ = await pick(
        session, member.id if member else None, member.department if member else None, at
    )
    return tone.media if tone else None
