"""Reads: one message, filtered lists and conversations, with keyset cursors."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import InvalidInput, NotFound
from comms.messages.models import Channel, Conversation, Message
from comms.messages.state import MessageStatus


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except ValueError:
        raise InvalidInput("cursor: not a cursor this API gave out", field="cursor") from None


@dataclass
class MessageFilter:
    status: MessageStatus | None = None
    channel: Channel | None = None
    to: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    conversation_id: uuid.UUID | None = None


async def get_message(session: AsyncSession, message_id: uuid.UUID) -> Message:
    msg = await session.get(Message, message_id)
    if msg is None:
        raise NotFound("message not found")
    return msg


async def list_messages(
    session: AsyncSession, f: MessageFilter, *, limit: int, cursor: str | None
) -> tuple[list[Message], str | None]:
    """Newest first; `cursor` is the previous page's next_cursor."""
    q = select(Message)
    if f.status is not None:
        q = q.where(Message.status == f.status)
    if f.channel is not None:
        q = q.where(Message.channel == f.channel)
    if f.to:
        q = q.where(Message.recipient == f.to)
    if f.since is not None:
        q = q.where(Message.created_at >= f.since)
    if f.until is not None:
        q = q.where(Message.created_at < f.until)
    if f.conversation_id is not None:
        q = q.where(Message.conversation_id == f.conversation_id)
    if cursor:
        at, last = decode_cursor(cursor)
        q = q.where(or_(Message.created_at < at, and_(Message.created_at == at, Message.id < last)))
    rows = list(
        await session.scalars(
            q.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more else None


async def get_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> Conversation:
    conv = await session.get(Conversation, conversation_id)
    if conv is None:
        raise NotFound("conversation not found")
    return conv


async def list_conversations(
    session: AsyncSession, *, channel: Channel | None, limit: int, cursor: str | None
) -> tuple[list[Conversation], str | None]:
    """Most recently active first."""
    q = select(Conversation)
    if channel is not None:
        q = q.where(Conversation.channel == channel)
    if cursor:
        at, last = decode_cursor(cursor)
        q = q.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < last),
            )
        )
    rows = list(
        await session.scalars(
            q.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].last_message_at, rows[-1].id) if more else None
