"""Conversations: one thread per tenant, channel and counterpart address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.messages.models import Channel, Conversation


async def conversation_for(
    session: AsyncSession, channel: Channel, address: str, at: datetime
) -> Conversation:
    """The thread with `address`, created on first contact; counts the new message in."""
    q = select(Conversation).where(Conversation.channel == channel, Conversation.address == address)
    conv = await session.scalar(q)
    if conv is None:
        conv = Conversation(channel=channel, address=address, last_message_at=at)
        try:
            # A savepoint: a concurrent first message to the same address may win the insert.
            async with session.begin_nested():
                session.add(conv)
        except IntegrityError:
            conv = (await session.scalars(q)).one()
    conv.message_count += 1
    conv.last_message_at = max(conv.last_message_at, at)
    return conv
