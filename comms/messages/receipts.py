"""Delivery receipts: per-part states rolled up into the message's final status."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.channels.sms.provider import DeliveryReceipt, ReceiptState
from comms.db.base import utcnow
from comms.db.sets import among, among_param, among_params
from comms.messages.events import StatusChange
from comms.messages.lifecycle import StatusBatch
from comms.messages.models import Message, MessagePart, PendingReceipt
from comms.messages.state import MessageStatus

FINAL_STATES = {
    ReceiptState.DELIVERED,
    ReceiptState.UNDELIVERED,
    ReceiptState.EXPIRED,
    ReceiptState.REJECTED,
}
MESSAGES = cast(Table, Message.__table__)
PARTS = cast(Table, MessagePart.__table__)


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


# A single part's final state as its message's status (what `rollup` gives for one part).
ROLLUP: dict[str, MessageStatus] = {
    state.value: final for state in FINAL_STATES if (final := rollup([state])) is not None
}


async def apply_orphans(s: AsyncSession, *, pids: list[str] | None = None, limit: int = 500) -> int:
    """Early receipts whose submission record has landed since: apply them set-wise.

    A receipt can beat the sender's record (the SMSC answers the moment it has the message;
    the record commits once the whole batch is answered): it is kept as a pending receipt,
    and applied here by the record itself (`pids` = the parts it just wrote), by the sink
    right after its commit (the two can miss each other), and by the sweep as a backstop."""
    if pids is None:
        # The sweep: every pending receipt whose part exists now (a join, once an interval).
        q = (
            select(PendingReceipt)
            .join(
                MessagePart,
                (MessagePart.provider == PendingReceipt.provider)
                & (MessagePart.provider_message_id == PendingReceipt.provider_message_id),
            )
            .order_by(PendingReceipt.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=PendingReceipt)
        )
        rows = list(await s.scalars(q))
    else:
        # The hot paths (every sender record, every receipt batch with early ones): two
        # index lookups, never a join that an unanalysed table plans as a full scan.
        pending = list(
            await s.scalars(
                select(PendingReceipt)
                .where(among(PendingReceipt.provider_message_id, pids))
                .order_by(PendingReceipt.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not pending:
            return 0
        recorded: set[tuple[str, str]] = set()
        for provider in sorted({p.provider for p in pending}):
            wanted = [p.provider_message_id for p in pending if p.provider == provider]
            found = await s.scalars(
                select(MessagePart.provider_message_id).where(
                    MessagePart.provider == provider,
                    among(MessagePart.provider_message_id, wanted),
                )
            )
            recorded |= {(provider, pid) for pid in found}
        rows = [p for p in pending if (p.provider, p.provider_message_id) in recorded]
    if not rows:
        return 0
    receipts = [
        DeliveryReceipt(
            r.provider, r.provider_message_id, ReceiptState(r.state), r.error_code, r.done_at
        )
        for r in rows
    ]
    batch = StatusBatch()
    await apply_receipts(s, receipts, batch)  # every part exists: nothing is kept again
    await s.execute(delete(PendingReceipt).where(among(PendingReceipt.id, [r.id for r in rows])))
    await batch.publish(s)
    return len(rows)


# The receipt path's statements, built once: a campaign runs them for every receipt batch,
# and building and coercing them anew each time was a good part of a batch's cost.
_PARTS_BY_PID = select(
    PARTS.c.id, PARTS.c.message_id, PARTS.c.provider_message_id, PARTS.c.state
).where(
    PARTS.c.provider == bindparam("b_provider"),
    among_param(PARTS.c.provider_message_id, "b_pids"),
)
_SET_PART = (
    update(PARTS)
    .where(PARTS.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), error_code=bindparam("b_code"), done_at=bindparam("b_done"))
)
_SENT_FOR_UPDATE = (
    select(
        MESSAGES.c.id,
        MESSAGES.c.tenant_id,
        MESSAGES.c.conversation_id,
        MESSAGES.c.channel,
        MESSAGES.c.direction,
        MESSAGES.c.recipient,
    )
    .where(
        among_param(MESSAGES.c.id, "b_ids"),
        MESSAGES.c.status == MessageStatus.SENT,
    )
    .order_by(MESSAGES.c.id)
    .with_for_update()
)
_PART_STATES = (
    select(PARTS.c.message_id, PARTS.c.state, PARTS.c.error_code)
    .where(among_param(PARTS.c.message_id, "b_ids"))
    .order_by(PARTS.c.message_id, PARTS.c.seq)
)


def _final_update(final: MessageStatus) -> Update:
    stamp: dict[str, Any] = {f"{final.value}_at": bindparam("b_now")}
    if final is not MessageStatus.DELIVERED:
        stamp |= {"error_code": bindparam("b_code"), "error_text": f"receipt: {final.value}"}
    return update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id")).values(status=final, **stamp)


_FINAL = {final: _final_update(final) for final in set(ROLLUP.values())}


async def apply_receipts(
    s: AsyncSession, receipts: list[DeliveryReceipt], batch: StatusBatch
) -> list[DeliveryReceipt]:
    """A batch of receipts from any tenants, set-wise and without ORM objects (the receipt
    path of a campaign): one read of the parts, one UPDATE of them, one locking read of the
    messages, one read of their parts and one UPDATE per final status. Returns the receipts
    whose part is not recorded yet (kept as pending receipts here).

    The session must be unscoped: receipts carry no tenant; each part names its own."""
    parts: dict[tuple[str, str], Any] = {}
    for provider in sorted({r.provider for r in receipts}):
        pids = sorted({r.provider_message_id for r in receipts if r.provider == provider})
        rows = await s.execute(
            _PARTS_BY_PID, {"b_provider": provider, **among_params("b_pids", pids)}
        )
        parts.update({(provider, r.provider_message_id): r for r in rows})
    early: list[DeliveryReceipt] = []
    updates: dict[int, dict[str, Any]] = {}
    for receipt in receipts:
        part = parts.get((receipt.provider, receipt.provider_message_id))
        if part is None:
            # The carrier answered before our submission record committed: keep it.
            s.add(
                PendingReceipt(
                    provider=receipt.provider,
                    provider_message_id=receipt.provider_message_id,
                    state=receipt.state.value,
                    error_code=receipt.error_code,
                    done_at=receipt.done_at,
                )
            )
            early.append(receipt)
        elif part.state not in FINAL_STATES and (
            part.id not in updates or updates[part.id]["b_state"] not in FINAL_STATES
        ):
            # SMSCs repeat receipts; the first final one stands (also within one batch).
            updates[part.id] = {
                "b_id": part.id,
                "b_state": receipt.state.value,
                "b_code": receipt.error_code,
                "b_done": receipt.done_at,
            }
    if updates:
        await s.execute(_SET_PART, [u for _, u in sorted(updates.items())])
        await settle(s, sorted({p.message_id for p in parts.values() if p.id in updates}), batch)
    return early


async def settle(s: AsyncSession, message_ids: list[uuid.UUID], batch: StatusBatch) -> None:
    """Move `sent` messages whose every part now has a final receipt to their final status."""
    if not message_ids:
        return
    now = utcnow()
    msgs = {r.id: r for r in await s.execute(_SENT_FOR_UPDATE, among_params("b_ids", message_ids))}
    if not msgs:
        return
    # Read after the lock, in a statement of its own: a part another receipt transaction
    # finalised just before it released the message must be seen (a join would read the
    # parts from the snapshot taken before the lock wait).
    states: dict[uuid.UUID, list[tuple[str | None, str | None]]] = {}
    rows = await s.execute(_PART_STATES, among_params("b_ids", msgs))
    for mid, state, code in rows:
        states.setdefault(mid, []).append((state, code))
    final_rows: dict[MessageStatus, list[dict[str, Any]]] = {}
    for mid, m in msgs.items():
        mine = states.get(mid, [])
        final = _rollup_stored(mine)
        if final is None:
            continue
        code = None
        if final is not MessageStatus.DELIVERED:
            code = next((c for _, c in mine if c), None)
        final_rows.setdefault(final, []).append({"b_id": mid, "b_code": code, "b_now": now})
        batch.add(
            m.tenant_id,
            StatusChange(
                message_id=mid,
                conversation_id=m.conversation_id,
                channel=m.channel,
                direction=m.direction,
                status=final,
                previous=MessageStatus.SENT,
                error_code=code,
                at=now,
                counterpart=m.recipient,
            ),
        )
    for final, values in final_rows.items():
        if final is MessageStatus.DELIVERED:
            values = [{"b_id": v["b_id"], "b_now": now} for v in values]
        await s.execute(_FINAL[final], values)


def _rollup_stored(states: list[tuple[str | None, str | None]]) -> MessageStatus | None:
    """`rollup` of stored part states; the usual single-part message without enum lookups."""
    if len(states) == 1:
        return ROLLUP.get(states[0][0] or "")
    return rollup([ReceiptState(st) if st else None for st, _ in states])
