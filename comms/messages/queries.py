"""Reads: one message, filtered lists and conversations, with keyset cursors."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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


Row = TypeVar("Row")


async def newest_first_page(
    session: AsyncSession,
    q: Select[Row],
    at: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[uuid.UUID],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Row], str | None]:
    """A page of `q`, newest first by (`at`, `key`), and the cursor of the next page (None on
    the last): the keyset every list of this API pages with."""
    if cursor:
        last_at, last = decode_cursor(cursor)
        q = q.where(or_(at < last_at, and_(at == last_at, key < last)))
    rows = list(await session.scalars(q.order_by(at.desc(), key.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    tail = rows[limit - 1]
    return rows[:limit], encode_cursor(getattr(tail, at.key), getattr(tail, key.key))


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
    return await newest_first_page(
        session, q, Message.created_at, Message.id, limit=limit, cursor=cursor
    )


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
    return await newest_first_page(
        session, q, Conversation.last_message_at, Conversation.id, limit=limit, cursor=cursor
    )
