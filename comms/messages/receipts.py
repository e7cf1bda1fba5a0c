"""Delivery receipts: per-part states rolled up into the message's final status."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.channels.sms.provider import ReceiptState
from comms.db.tenancy import scoped_to, unscoped
from comms.messages.lifecycle import change_status
from comms.messages.models import Message, MessagePart, PendingReceipt
from comms.messages.state import MessageStatus

FINAL_STATES = {
    ReceiptState.DELIVERED,
    ReceiptState.UNDELIVERED,
    ReceiptState.EXPIRED,
    ReceiptState.REJECTED,
}


def rollup(states: list[ReceiptState | None]) -> MessageStatus | None:
    """The message status once every part has a final receipt; None while any is pending.

    A long SMS counts as delivered only if every segment was; a rejected segment makes the
    whole message failed, an undelivered or expired one undelivered.
    """
    if not states or any(s not in FINAL_STATES for s in states):
        return None
    if all(s is ReceiptState.DELIVERED for s in states):
        return MessageStatus.DELIVERED
    if any(s is ReceiptState.REJECTED for s in states):
        return MessageStatus.FAILED
    return MessageStatus.UNDELIVERED


async def apply_receipt(
    s: AsyncSession,
    part: MessagePart,
    state: ReceiptState,
    error_code: str | None,
    done_at: datetime | None,
) -> None:
    """Record a part's receipt and settle the message when the last part is final."""
    if part.state in FINAL_STATES:
        return  # SMSCs repeat receipts; the first final one stands
    part.state, part.error_code, part.done_at = state.value, error_code, done_at
    await s.flush()
    msg = await s.get(Message, part.message_id, with_for_update=True)
    if msg is None or msg.status is not MessageStatus.SENT:
        return
    parts = list(await s.scalars(select(MessagePart).where(MessagePart.message_id == msg.id)))
    final = rollup([ReceiptState(p.state) if p.state else None for p in parts])
    if final is None:
        return
    codes = [p.error_code for p in parts if p.error_code]
    change_status(
        s,
        msg,
        final,
        error_code=codes[0] if codes and final is not MessageStatus.DELIVERED else None,
        error_text=None if final is MessageStatus.DELIVERED else f"receipt: {final.value}",
    )


async def apply_many(
    s: AsyncSession,
    receipts: list[tuple[MessagePart, ReceiptState, str | None, datetime | None]],
) -> None:
    """`apply_receipt` for a batch of one tenant's parts: three queries, not four per part."""
    touched: dict[uuid.UUID, None] = {}
    for part, state, error_code, done_at in receipts:
        if part.state in FINAL_STATES:
            continue  # SMSCs repeat receipts; the first final one stands
        part.state, part.error_code, part.done_at = state.value, error_code, done_at
        touched[part.message_id] = None
    if not touched:
        return
    await s.flush()
    ids = sorted(touched)
    msgs = await s.scalars(
        select(Message).where(Message.id.in_(ids)).order_by(Message.id).with_for_update()
    )
    sent = {m.id: m for m in msgs if m.status is MessageStatus.SENT}
    if not sent:
        return
    parts: dict[uuid.UUID, list[MessagePart]] = {}
    for p in await s.scalars(select(MessagePart).where(MessagePart.message_id.in_(list(sent)))):
        parts.setdefault(p.message_id, []).append(p)
    for mid, msg in sent.items():
        mine = parts.get(mid, [])
        final = rollup([ReceiptState(p.state) if p.state else None for p in mine])
        if final is None:
            continue
        codes = [p.error_code for p in mine if p.error_code]
        change_status(
            s,
            msg,
            final,
            error_code=codes[0] if codes and final is not MessageStatus.DELIVERED else None,
            error_text=None if final is MessageStatus.DELIVERED else f"receipt: {final.value}",
        )


async def apply_pending(s: AsyncSession, msgs: list[Message]) -> None:
    """Receipts that raced ahead of the submissions' records, now that their parts exist:
    one query for the whole batch of messages."""
    parts = list(
        await s.scalars(select(MessagePart).where(MessagePart.message_id.in_([m.id for m in msgs])))
    )
    if not parts:
        return
    by_id = {(p.provider, p.provider_message_id): p for p in parts}
    early = list(
        await s.scalars(
            select(PendingReceipt)
            .where(PendingReceipt.provider_message_id.in_([p.provider_message_id for p in parts]))
            .order_by(PendingReceipt.id)
        )
    )
    used: list[int] = []
    for r in early:
        part = by_id.get((r.provider, r.provider_message_id))
        if part is None:
            continue  # the same id from another provider
        await apply_receipt(s, part, ReceiptState(r.state), r.error_code, r.done_at)
        used.append(r.id)
    if used:
        await s.execute(delete(PendingReceipt).where(PendingReceipt.id.in_(used)))


async def apply_orphans(
    s: AsyncSession,
    *,
    provider: str | None = None,
    provider_id: str | None = None,
    limit: int = 500,
) -> int:
    """Early receipts whose submission record has landed since: apply them (unscoped).

    `on_receipt` keeps a receipt when the part is not there yet, and the sender's record
    applies it, but the two can miss each other: the record's check runs before the
    receipt's row commits while the receipt's check ran before the record committed. This
    catches every such pair (the sink right after its commit, and the sweep)."""
    rows = (
        await s.execute(
            select(PendingReceipt.id, MessagePart)
            .join(
                MessagePart,
                (MessagePart.provider == PendingReceipt.provider)
                & (MessagePart.provider_message_id == PendingReceipt.provider_message_id),
            )
            .where(
                *(
                    [
                        PendingReceipt.provider == provider,
                        PendingReceipt.provider_message_id == provider_id,
                    ]
                    if provider is not None
                    else []
                )
            )
            .order_by(PendingReceipt.id)
            .limit(limit)
        )
    ).all()
    done: list[int] = []
    for rid, part in rows:
        r = await s.get(PendingReceipt, rid, with_for_update=True)
        if r is None:
            continue  # applied by someone else meanwhile
        scoped_to(s, part.tenant_id)
        try:
            await apply_receipt(s, part, ReceiptState(r.state), r.error_code, r.done_at)
        finally:
            unscoped(s)
        await s.delete(r)
        done.append(rid)
    return len(done)
