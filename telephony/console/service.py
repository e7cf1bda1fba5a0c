"""What the console shows, built from other packages' answers (no HTTP, no sockets here)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.models import User
from comms.errors import NotFound
from comms.messages.addresses import try_phone
from comms.queries import Queries, UnknownQuery

log = logging.getLogger(__name__)

CONTACT_QUERY = "crm.contact_by_phone"
ORDERS_QUERY = "erp.recent_orders"
# {"user_id"} -> {wss_url, sip_uri, password, display_name} | None; answered by the call
# centre where the tenant set up WebRTC for the agent. Unanswered: desk/mobile phone mode.
WEBRTC_QUERY = "telephony.agent_webrtc"


async def ask_or_none(
    session: AsyncSession, queries: Queries | None, name: str, args: dict[str, str]
) -> tuple[bool, Any]:
    """(answered, answer): a package that is not installed is "no section", not an error."""
    if queries is None or name not in queries:
        return False, None
    try:
        return True, await queries.ask(session, name, args)
    except UnknownQuery:
        return False, None


async def screen_pop(session: AsyncSession, queries: Queries | None, caller: str) -> dict[str, Any]:
    """Who is calling: the CRM contact (or None) and, where erp answers, recent orders.

    `orders` is absent when no package answers `erp.recent_orders`, and an empty list when
    the caller has none, so the page can tell "no ERP" from "no orders".
    """
    phone = try_phone(caller) or caller
    pop: dict[str, Any] = {"caller": caller, "phone": phone, "contact": None}
    if not phone:
        return pop
    _, pop["contact"] = await ask_or_none(session, queries, CONTACT_QUERY, {"phone": phone})
    answered, orders = await ask_or_none(session, queries, ORDERS_QUERY, {"phone": phone})
    if answered:
        pop["orders"] = list(orders or [])[:5]
    return pop


async def console_config(
    session: AsyncSession, queries: Queries | None, user_id: uuid.UUID
) -> dict[str, Any]:
    """The signed-in user, and their WebRTC registration where the call centre has one."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    _, webrtc = await ask_or_none(session, queries, WEBRTC_QUERY, {"user_id": str(user.id)})
    return {
        "user_id": str(user.id),
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "department": user.department,
        "mobile": user.mobile,
        "webrtc": webrtc or None,
    }
