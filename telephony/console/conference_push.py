"""Conference pushes: the console's live participant list and moderator view.

Every `telephony.conference.*` topic becomes one `{"type": "conference", "event": <verb>}`
push to the tenant's supervisors and admins (they hold the moderator controls) and to the
user who started the meeting from the API (read from the audit entry the start wrote; a
dial-in room meeting has none). Never to another tenant: the audience carries the event's
tenant. Participant pushes carry the row's name and state, so the page needs no re-read.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from comms.audit.models import AuditEntry
from comms.auth.models import Role, User
from comms.bus import Event, HandlerContext, SubscriberSet
from comms.bus.topics import EventPayload
from comms.realtime.fanout import fanout_of
from telephony.conference.events import TOPICS
from telephony.conference.models import Participant

subs = SubscriberSet("console_conference")


# Local copies of two small helpers (not handlers.py's private ones: that file is another
# branch's, and a payload may arrive as a dict when the topic class is not registered).
def _facts(payload: EventPayload | Any) -> dict[str, Any]:
    if isinstance(payload, EventPayload):
        return payload.model_dump(mode="json")
    return dict(payload) if isinstance(payload, dict) else {}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


async def starter(ctx: HandlerContext, conference_id: uuid.UUID) -> User | None:
    """The user who started the meeting through `POST /api/v1/conferences`, if any."""
    actor = await ctx.session.scalar(
        select(AuditEntry.actor_id).where(
            AuditEntry.action == "conference.start",
            AuditEntry.entity_type == "conference",
            AuditEntry.entity_id == str(conference_id),
            AuditEntry.actor_type == "user",
        )
    )
    return None if actor is None else await ctx.session.get(User, actor)


async def push_conference(ctx: HandlerContext, event: Event[Any]) -> None:
    fan = fanout_of(ctx.services)
    if fan is None:
        return
    facts = _facts(event.payload)
    conference_id = _uuid(facts.get("conference_id"))
    if conference_id is None:
        return
    push: dict[str, Any] = {
        "type": "conference",
        "event": event.topic.rsplit(".", 1)[-1],
        "event_id": event.id,
        **facts,
    }
    participant_id = _uuid(facts.get("participant_id"))
    if participant_id is not None:
        row = await ctx.session.get(Participant, participant_id)
        if row is not None:
            push["name"] = row.name
            push["state"] = row.state.value
    await fan.to_supervisors(event.tenant_id, push)
    user = await starter(ctx, conference_id)
    # A supervisor who started it already has the push through the supervisors' audience.
    if user is not None and user.is_active and not user.role.allows(Role.SUPERVISOR):
        await fan.to_user(event.tenant_id, user.id, push)


for _topic in TOPICS:
    subs.on(_topic, name=f"push_{_topic.topic.rsplit('.', 1)[-1]}")(push_conference)
