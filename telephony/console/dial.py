"""Click-to-call: ring the agent's own phone, then let Asterisk's dialplan call the number.

An ARI originate to a dialplan location (`extension`/`context`/`priority`) rather than into
the Stasis app: when the agent picks up, Asterisk runs `HUITONG_CONSOLE_DIAL_CONTEXT` at the
dialled number, which picks the trunk and the caller id the carrier accepts. The originate is
a plain ARI REST request any process may send (as call control does).
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import Conflict, InvalidInput
from telephony.ari import AriError
from telephony.callcentre import service as callcentre
from telephony.callcentre.state import AgentState

# What a desk phone's keypad can send: digits, *, #, and a leading + for E.164.
DIALLABLE = re.compile(r"^\+?[0-9*#]{2,32}$")
BUSY = {AgentState.RINGING, AgentState.ON_CALL}


class Originator(Protocol):
    channels: Any


def clean_number(raw: str) -> str:
    number = re.sub(r"[\s\-().]", "", raw)
    if not DIALLABLE.match(number):
        raise InvalidInput(
            "number: digits, * or # (2 to 32), optionally a leading +", field="number"
        )
    return number


async def dial(
    session: AsyncSession,
    ari: Originator,
    user_id: uuid.UUID | None,
    raw_number: str,
    *,
    context: str,
    ring_timeout: int,
) -> dict[str, str]:
    """Ring the agent's endpoint; answered, it calls `raw_number` through the dialplan."""
    number = clean_number(raw_number)
    agent = await callcentre.agent_of_user(session, user_id)
    if agent.state in BUSY:
        raise Conflict("finish the current call before dialling", field="agent")
    try:
        channel = await ari.channels.originate(
            agent.endpoint,
            extension=number,
            context=context,
            priority=1,
            # Shown on the agent's phone while it rings: whom it is about to call.
            caller_id=f'"{number}" <{number}>',
            ring_timeout=ring_timeout,
            variables={"HUITONG_TENANT": str(agent.tenant_id), "HUITONG_AGENT": str(agent.id)},
        )
    except AriError as exc:
        raise Conflict(f"could not ring your phone: {exc}", field="agent") from None
    return {"channel_id": channel["id"], "number": number, "endpoint": agent.endpoint}
