"""Ringback routes: tone library (raw WAV/MP3 upload), rules, and what plays for a callee."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from comms.deps import AdminDep, SessionDep, ViewerDep
from telephony.ringback import audio, service
from telephony.ringback.schemas import ResolveOut, RuleIn, RuleOut, ToneOut
from telephony.settings import TelephonySettings

router = APIRouter(prefix="/api/v1/ringback", tags=["ringback"])


@router.post(
    "/tones",
    response_model=ToneOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "audio/wav": {"schema": {"type": "string", "format": "binary"}},
                "audio/mpeg": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload_tone(
    request: Request,
    actor: AdminDep,
    s: SessionDep,
    name: Annotated[str, Query(min_length=1, max_length=200)],
) -> object:
    """Upload the audio as the raw request body (audio/wav or audio/mpeg)."""
    data = await request.body()
    if len(data) > audio.MAX_BYTES:
        return Response(status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    sounds = TelephonySettings().asterisk_sounds_dir
    return await service.create_tone(s, actor, name, data, sounds_dir=sounds)


@router.get("/tones", response_model=list[ToneOut])
async def list_tones(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_tones(s)


@router.get("/tones/{tone_id}", response_model=ToneOut)
async def get_tone(tone_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_tone(s, tone_id)


@router.get("/tones/{tone_id}/audio", response_class=Response)
async def get_tone_audio(tone_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> Response:
    """The converted WAV, for preview and for copying into Asterisk's sounds directory."""
    return Response(await service.tone_audio(s, tone_id), media_type="audio/wav")


@router.delete("/tones/{tone_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tone(tone_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> None:
    await service.delete_tone(s, actor, tone_id, sounds_dir=TelephonySettings().asterisk_sounds_dir)


@router.post("/rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED)
async def create_rule(body: RuleIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.create_rule(s, actor, body)


@router.get("/rules", response_model=list[RuleOut])
async def list_rules(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_rules(s)


@router.get("/rules/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_rule(s, rule_id)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> None:
    await service.delete_rule(s, actor, rule_id)


@router.get("/resolve", response_model=ResolveOut)
async def resolve(
    actor: ViewerDep,
    s: SessionDep,
    callee: Annotated[str, Query(max_length=100)] = "",
    at: datetime | None = None,
) -> object:
    """Which tone a caller hears calling ``callee`` at ``at`` (default now; naive = UTC)."""
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    tone, rule, local, member_id, department = await service.resolve_for_callee(s, callee, when)
    return ResolveOut(
        callee=callee,
        member_id=member_id,
        department=department,
        at=when,
        local_time=local,
        tone=ToneOut.model_validate(tone) if tone else None,
        rule_id=rule.id if rule else None,
    )
