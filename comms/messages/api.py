"""Routes for messages, conversations and messaging settings: parse, call, serialise."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from comms.deps import AdminDep, AgentDep, HubDep, SessionDep, ViewerDep
from comms.messages import queries, service, tenant_settings
from comms.messages.addresses import try_phone
from comms.messages.exceptions import QuotaExceeded, Suppressed
from comms.messages.models import Channel
from comms.messages.schemas import (
    ConversationOut,
    ConversationPage,
    MessageCreate,
    MessageOut,
    MessagePage,
    MessagingSettingsIn,
    MessagingSettingsOut,
)
from comms.messages.state import MessageStatus

router = APIRouter(prefix="/api/v1", tags=["messages"])

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.post(
    "/messages",
    status_code=202,
    response_model=MessageOut,
    responses={409: {"description": "Idempotency-Key reused"}, 429: {"description": "quota"}},
)
async def send_message(
    body: MessageCreate,
    _: AgentDep,
    s: SessionDep,
    hub: HubDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> object:
    try:
        return await service.queue_message(s, hub.settings, body, idempotency_key=idempotency_key)
    except (QuotaExceeded, Suppressed) as exc:
        extra = {"reason": exc.reason} if isinstance(exc, Suppressed) else {"reason": "quota"}
        return JSONResponse({"detail": exc.message, "field": exc.field, **extra}, status_code=429)


@router.get("/messages", response_model=MessagePage)
async def list_messages(
    _: ViewerDep,
    s: SessionDep,
    status: MessageStatus | None = None,
    channel: Channel | None = None,
    to: str | None = None,
    since: datetime | None = Query(None, description="created at or after"),
    until: datetime | None = Query(None, description="created before"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> MessagePage:
    if to:
        to = to.strip().lower() if "@" in to else try_phone(to)
    f = queries.MessageFilter(status=status, channel=channel, to=to, since=since, until=until)
    rows, nxt = await queries.list_messages(s, f, limit=limit, cursor=cursor)
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], next_cursor=nxt)


@router.get("/messages/{message_id}", response_model=MessageOut)
async def get_message(message_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await queries.get_message(s, message_id)


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    _: ViewerDep,
    s: SessionDep,
    channel: Channel | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ConversationPage:
    rows, nxt = await queries.list_conversations(s, channel=channel, limit=limit, cursor=cursor)
    return ConversationPage(
        items=[ConversationOut.model_validate(c) for c in rows], next_cursor=nxt
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def get_conversation(conversation_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await queries.get_conversation(s, conversation_id)


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def conversation_messages(
    conversation_id: uuid.UUID,
    _: ViewerDep,
    s: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> MessagePage:
    await queries.get_conversation(s, conversation_id)
    f = queries.MessageFilter(conversation_id=conversation_id)
    rows, nxt = await queries.list_messages(s, f, limit=limit, cursor=cursor)
    return MessagePage(items=[MessageOut.model_validate(m) for m in rows], next_cursor=nxt)


@router.get("/messaging/settings", response_model=MessagingSettingsOut)
async def get_settings(_: ViewerDep, s: SessionDep) -> MessagingSettingsOut:
    return await tenant_settings.get_settings(s)


@router.put("/messaging/settings", response_model=MessagingSettingsOut)
async def put_settings(
    body: MessagingSettingsIn, actor: AdminDep, s: SessionDep
) -> MessagingSettingsOut:
    return await tenant_settings.put_settings(s, actor, body)
