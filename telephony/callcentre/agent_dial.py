"""The call centre's side of click-to-call: an agent's dial-out moves the agent's state.

The call itself is an ordinary click-to-call (`telephony/calls/click_stasis.py`, the one back
end); the agent who asked for it is found by `current_call_id`, so a click-to-call made through
`POST /api/v1/calls` for a phone that is no agent's moves nobody.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.principal import Principal
from comms.db.base import utcnow
from comms.errors import Conflict
from telephony.callcentre import service
from telephony.callcentre.models import Agent
from telephony.callcentre.state import AgentState
from telephony.calls import service as calls
from telephony.calls.models import Call
from telephony.calls.schemas import ClickToCallIn


async def dial(session: AsyncSession, actor: Principal, agent: Agent, number: str) -> Call:
    """Click-to-dial from the console: the agent's phone rings first, then the number."""
    if agent.state is not AgentState.AVAILABLE:
        raise Conflict(
            f"the agent is {agent.state.value}: only an available agent dials", field="state"
        )
    call = await calls.request_click_to_call(
        session,
        actor,
        ClickToCallIn(to=number, endpoint=agent.endpoint),
        label=agent.name,
        field="number",
        commit=False,
    )
    agent.current_call_id = call.id
    service.move_agent(session, agent, AgentState.RINGING, f"dialling {number}")
    await session.commit()
    return call


async def follow(session: AsyncSession, call: Call, what: str) -> None:
    """The Stasis app's hook: "answered" puts the agent on the call, "ended" frees them."""
    agent = await session.scalar(select(Agent).where(Agent.current_call_id == call.id))
    if agent is None:
        return
    now = utcnow()
    if what == "answered" and agent.state is AgentState.RINGING:
        service.move_agent(session, agent, AgentState.ON_CALL, f"{call.callee} answered", now=now)
    elif what == "ended":
        agent.current_call_id = None
        if agent.state is AgentState.ON_CALL:
            service.move_agent(session, agent, AgentState.WRAP_UP, "call ended", now=now)
            agent.wrapup_until = now  # no queue, no wrap-up time: available at the next tick
        elif agent.state is AgentState.RINGING:
            service.move_agent(session, agent, AgentState.AVAILABLE, call.end_reason, now=now)
