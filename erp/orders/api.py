"""Routes for sales orders: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.deps import AgentDep, SessionDep, ViewerDep
from comms.messages.addresses import try_phone
from erp.orders import service, state
from erp.orders.models import Order, OrderStatus
from erp.orders.schemas import OrderIn, OrderOut, OrderPage, TransitionIn
from erp.stock.ledger import Actor, NotEnoughStock

router = APIRouter(prefix="/api/v1/erp", tags=["erp"])


@router.post("/orders", status_code=201, response_model=OrderOut)
async def create_order(body: OrderIn, who: AgentDep, s: SessionDep) -> object:
    order = await service.create_order(s, body)
    audit.record(s, who, "erp.order.created", "erp_order", order.id, {"number": order.number})
    await s.commit()
    return order


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    _: ViewerDep,
    s: SessionDep,
    status: OrderStatus | None = None,
    contact_phone: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OrderPage:
    q = select(Order).order_by(Order.created_at.desc(), Order.number.desc()).limit(limit)
    if status is not None:
        q = q.where(Order.status == status)
    if contact_phone:
        q = q.where(Order.contact_phone == try_phone(contact_phone))
    return OrderPage(items=[OrderOut.model_validate(o) for o in await s.scalars(q)])


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(order_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await service.get_order(s, order_id)


@router.post("/orders/{order_id}/transitions", response_model=OrderOut, responses={409: {}})
async def move_order(
    order_id: uuid.UUID, body: TransitionIn, who: AgentDep, s: SessionDep
) -> object:
    """409 naming `to` for an illegal move, `lines[i].qty` when stock is short; a refusal is
    still kept in the order's transition log."""
    order = await service.get_order(s, order_id)
    try:
        order = await service.move_order(s, order, body.to, actor=who.actor, reason=body.reason)
    except state.IllegalTransition as exc:
        await _keep_refusal(s, order_id, body, who.actor, exc.message)
        raise
    except NotEnoughStock as exc:
        await _keep_refusal(s, order_id, body, who.actor, exc.message)
        raise
    audit.record(s, who, f"erp.order.{body.to.value}", "erp_order", order.id, {"to": body.to.value})
    await s.commit()
    return order


async def _keep_refusal(
    s: AsyncSession, order_id: uuid.UUID, body: TransitionIn, actor: Actor, why: str
) -> None:
    await s.rollback()
    order = await service.get_order(s, order_id)
    state.log(s, order, body.to, accepted=False, reason=why, actor=actor)
    await s.commit()
