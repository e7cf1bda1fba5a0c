"""Bus subscribers that turn events into console pushes through the fan-out.

They run wherever the bus delivers (the API process in the embedded shape, a Celery worker
otherwise); the fan-out carries each push to the process holding the sockets. Every push
carries the bus `event_id`: a delivery the bus repeats reaches the page twice, and the page
drops the second one.
"""

from __future__ import annotations

import uuid
from typing import Any

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.bus.topics import EventPayload
from comms.messages.events import MessageInbound
from comms.messages.models import Message
from comms.queries import QUERIES, Queries
from comms.realtime.fanout import Fanout, fanout_of
from telephony.calls.events import CallAnswered, CallEnded, CallMissed, CallRinging
from telephony.console.service import screen_pop

subs = SubscriberSet("console")

# Named, not imported: the notifications package publishes it (dormant until installed).
NOTIFICATION_POSTED = "notifications.console.posted"
# The call centre's topics (docs/callcentre-api.md), named so the console does not depend on
# the back end's modules; a topic nobody registers simply never fires.
AGENT_STATE_CHANGED = "telephony.agent.state_changed"
QUEUE_STATS = "telephony.queue.stats"
CALL_OFFERED = "telephony.queue.call_offered"
# Queue-call events every supervisor's wallboard follows; `answered` also reaches the agent.
QUEUE_CALL_EVENTS = ("entered", "answered", "abandoned", "overflowed", "transferred", "ended")
SMS_PREVIEW = 160
# erp's approval topics (docs/erp.md), named for the same reason: without erp they never fire.
APPROVAL_REQUESTED = "erp.approval.requested"
APPROVAL_DECIDED = "erp.approval.decided"


def _facts(payload: EventPayload | Any) -> dict[str, Any]:
    if isinstance(payload, EventPayload):
        return payload.model_dump(mode="json")
    return dict(payload) if isinstance(payload, dict) else {}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _fanout(ctx: HandlerContext) -> Fanout | None:
    return fanout_of(ctx.services)


async def _call_event(ctx: HandlerContext, event: Event[Any]) -> None:
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    push = {
        "type": "call",
        "event": event.topic.rsplit(".", 1)[-1],
        "event_id": event.id,
        "call": facts,
    }
    await fan.to_supervisors(event.tenant_id, push)
    # The call centre names the agent's user where a queue call reached one.
    agent_user = _uuid(facts.get("agent"))
    if agent_user is not None:
        await fan.to_user(event.tenant_id, agent_user, push)


for _topic in (CallRinging, CallAnswered, CallMissed, CallEnded):
    subs.on(_topic, name=f"push_{_topic.topic.rsplit('.', 1)[-1]}_call")(_call_event)


@subs.on(MessageInbound, name="push_inbound_sms", urgent=True)
async def push_inbound_sms(ctx: HandlerContext, event: Event[MessageInbound]) -> None:
    """Conversations are the tenant's, so every console of the tenant hears of a reply."""
    fan = _fanout(ctx)
    if fan is None:
        return
    p = event.payload
    msg = await ctx.session.get(Message, p.message_id)
    text = "" if msg is None else (msg.body or msg.subject or "")
    await fan.to_tenant(
        event.tenant_id,
        {
            "type": "sms",
            "event_id": event.id,
            "conversation_id": str(p.conversation_id),
            "message_id": str(p.message_id),
            "channel": p.channel.value,
            "sender": p.sender,
            "recipient": p.recipient,
            "preview": text[:SMS_PREVIEW],
            "received_at": p.received_at.isoformat(),
        },
    )


@subs.on(NOTIFICATION_POSTED, name="push_notification", urgent=True)
async def push_notification(ctx: HandlerContext, event: Event[Any]) -> None:
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    user_id = _uuid(facts.get("user_id"))
    if user_id is None:
        return
    await fan.to_user(
        event.tenant_id, user_id, {"type": "notification", "event_id": event.id, **facts}
    )


@subs.on(AGENT_STATE_CHANGED, name="push_agent_state")
async def push_agent_state(ctx: HandlerContext, event: Event[Any]) -> None:
    """The agent's own header and every supervisor's wallboard follow agent states."""
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    push = {"type": "agent", "event_id": event.id, **facts, "state": facts.get("to_state")}
    await fan.to_supervisors(event.tenant_id, push)
    user_id = _uuid(facts.get("user_id"))
    if user_id is not None:
        await fan.to_user(event.tenant_id, user_id, push)


@subs.on(QUEUE_STATS, name="push_queue_stats")
async def push_queue_stats(ctx: HandlerContext, event: Event[Any]) -> None:
    fan = _fanout(ctx)
    if fan is not None:
        push = {"type": "queue", "event_id": event.id, **_facts(event.payload)}
        await fan.to_supervisors(event.tenant_id, push)


@subs.on(CALL_OFFERED, name="pop_offered_call", urgent=True)
async def pop_offered_call(ctx: HandlerContext, event: Event[Any]) -> None:
    """The screen pop: the offered agent sees who calls (CRM contact, ERP orders) while
    their phone rings; supervisors see the offer on the wallboard."""
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    await fan.to_supervisors(
        event.tenant_id, {"type": "queue_call", "event": "offered", "event_id": event.id, **facts}
    )
    user_id = _uuid(facts.get("user_id"))
    if user_id is None:
        return
    queries = ctx.services.get(QUERIES)
    pop = await screen_pop(
        ctx.session, queries if isinstance(queries, Queries) else None, str(facts["caller"])
    )
    await fan.to_user(
        event.tenant_id, user_id, {"type": "offer", "event_id": event.id, **facts, "pop": pop}
    )


async def _queue_call_event(ctx: HandlerContext, event: Event[Any]) -> None:
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    verb = event.topic.rsplit(".", 1)[-1].removeprefix("call_")
    push = {"type": "queue_call", "event": verb, "event_id": event.id, **facts}
    await fan.to_supervisors(event.tenant_id, push)
    user_id = _uuid(facts.get("user_id"))
    if user_id is not None:
        await fan.to_user(event.tenant_id, user_id, push)


for _verb in QUEUE_CALL_EVENTS:
    subs.on(f"telephony.queue.call_{_verb}", name=f"push_queue_call_{_verb}")(_queue_call_event)


@subs.on(APPROVAL_REQUESTED, name="push_approval_requested")
async def push_approval_requested(ctx: HandlerContext, event: Event[Any]) -> None:
    """Each approver of the step that just started hears of it (and re-reads their list)."""
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    push = {
        "type": "approval",
        "event": "requested",
        "event_id": event.id,
        **{k: facts.get(k) for k in ("request_id", "step", "steps", "summary")},
    }
    for approver in facts.get("approver_ids") or []:
        user_id = _uuid(approver)
        if user_id is not None:
            await fan.to_user(event.tenant_id, user_id, push)


@subs.on(APPROVAL_DECIDED, name="push_approval_decided")
async def push_approval_decided(ctx: HandlerContext, event: Event[Any]) -> None:
    """Ids only, tenant-wide: a role's other approvers drop the request from their list, while
    amounts and reasons stay behind the API."""
    fan = _fanout(ctx)
    if fan is None:
        return
    facts = _facts(event.payload)
    push = {
        "type": "approval",
        "event": "decided",
        "event_id": event.id,
        **{k: facts.get(k) for k in ("request_id", "status", "final")},
    }
    await fan.to_tenant(event.tenant_id, push)
