"""Voicemail routes: mailboxes, greeting upload, messages and their audio."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from comms.deps import AdminDep, SessionDep, ViewerDep
from telephony.voicemail import service
from telephony.voicemail.schemas import (
    HeardIn,
    MailboxIn,
    MailboxOut,
    MyMailboxOut,
    VoicemailOut,
)

router = APIRouter(prefix="/api/v1/voicemail", tags=["voicemail"])
MAX_GREETING_BYTES = 2 * 1024 * 1024


@router.put("/mailboxes/{member_id}", response_model=MailboxOut)
async def put_mailbox(
    member_id: uuid.UUID, body: MailboxIn, actor: AdminDep, s: SessionDep
) -> object:
    return await service.put_mailbox(s, actor, member_id, body)


@router.get("/mailboxes/{member_id}", response_model=MailboxOut)
async def get_mailbox(member_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_mailbox(s, member_id)


@router.put(
    "/mailboxes/{member_id}/greeting",
    response_model=MailboxOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_greeting(
    member_id: uuid.UUID, request: Request, actor: AdminDep, s: SessionDep
) -> object:
    """The greeting as the raw request body (8 kHz mono WAV)."""
    data = await request.body()
    if len(data) > MAX_GREETING_BYTES:
        return Response(status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return await service.set_greeting_audio(s, actor, member_id, data)


@router.get("/me", response_model=MyMailboxOut)
async def my_mailbox(actor: ViewerDep, s: SessionDep) -> object:
    """The caller's own mailbox: the member whose mobile is the user's mobile (nulls if none)."""
    member, box = await service.my_mailbox(s, actor)
    if member is None:
        return MyMailboxOut()
    return MyMailboxOut(
        member_id=member.id,
        name=member.name,
        short_number=member.short_number,
        mailbox_id=box.id if box else None,
    )


@router.get("/messages", response_model=list[VoicemailOut])
async def list_messages(
    actor: ViewerDep, s: SessionDep, member_id: Annotated[uuid.UUID | None, Query()] = None
) -> object:
    return await service.list_messages(s, actor, member_id)


@router.get("/messages/{message_id}", response_model=VoicemailOut)
async def get_message(message_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_message(s, message_id, actor)


@router.get("/messages/{message_id}/audio", response_class=Response)
async def get_message_audio(message_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> Response:
    """The recording as Asterisk stored it (WAV); listening marks the message heard."""
    audio, content_type = await service.message_audio(s, message_id, actor)
    await service.mark_heard(s, message_id)
    return Response(audio, media_type=content_type)


@router.post("/messages/{message_id}/heard", response_model=VoicemailOut)
async def mark_heard(
    message_id: uuid.UUID, body: HeardIn, actor: ViewerDep, s: SessionDep
) -> object:
    return await service.mark_heard(s, message_id, body.heard, actor)


@router.delete("/messages/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_message(message_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> Response:
    """An admin, or the member whose mailbox it is."""
    await service.delete_message(s, actor, message_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
