"""Call-centre rows: queues, agents and their skills/memberships, agent history, queue calls.

A queue call row is both the waiting caller's place in line (state waiting/offered) and the
record of what happened to it afterwards (timestamps, agent, wait and handle seconds), so a
caller's place survives any restart of the Stasis app: it is in the database.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow
from telephony.callcentre.state import AgentState, EntryState


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class Strategy(enum.StrEnum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    RING_ALL = "ring_all"
    SKILLS = "skills"


class Overflow(enum.StrEnum):
    NONE = "none"
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"


class Queue(TenantScoped, Timestamped, Base):
    __tablename__ = "cc_queues"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_cc_queues_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    strategy: Mapped[Strategy] = mapped_column(_enum(Strategy))
    # Required skills with the minimum level: {"billing": 3}.
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    skill_fallback_seconds: Mapped[int | None] = mapped_column(default=None)
    ring_timeout: Mapped[int] = mapped_column(default=15)
    wrapup_seconds: Mapped[int] = mapped_column(default=10)
    max_length: Mapped[int | None] = mapped_column(default=None)
    max_wait: Mapped[int | None] = mapped_column(default=None)
    overflow: Mapped[Overflow] = mapped_column(_enum(Overflow), default=Overflow.NONE)
    overflow_queue_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cc_queues.id", ondelete="SET NULL"), default=None
    )
    overflow_mailbox: Mapped[str | None] = mapped_column(String(100), default=None)
    moh_class: Mapped[str] = mapped_column(String(80), default="default")
    announce_interval: Mapped[int | None] = mapped_column(default=None)
    service_level_seconds: Mapped[int] = mapped_column(default=20)
    record: Mapped[bool] = mapped_column(default=False)
    # Callers in this CRM segment (crm.in_segment) jump ahead of the others.
    priority_segment: Mapped[str | None] = mapped_column(String(100), default=None)
    # Numbers (DIDs) that go straight to this queue.
    dids: Mapped[list[str]] = mapped_column(JSON, default=list)


class Agent(TenantScoped, Timestamped, Base):
    __tablename__ = "cc_agents"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_cc_agents_user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(200))
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    state: Mapped[AgentState] = mapped_column(_enum(AgentState), default=AgentState.LOGGED_OUT)
    reason: Mapped[str | None] = mapped_column(String(80), default=None)
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    idle_since: Mapped[datetime | None] = mapped_column(default=None)
    last_offered_at: Mapped[datetime | None] = mapped_column(default=None)
    # When wrap-up ends by itself (the queue's wrap-up time after hang-up).
    wrapup_until: Mapped[datetime | None] = mapped_column(default=None)
    current_call_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    calls_taken: Mapped[int] = mapped_column(default=0)
    # Browser audio (JsSIP over WSS to Asterisk), answered to the console through the
    # telephony.agent_webrtc query; the endpoint above is then the agent's WebRTC endpoint.
    webrtc_wss_url: Mapped[str | None] = mapped_column(String(300), default=None)
    webrtc_sip_uri: Mapped[str | None] = mapped_column(String(200), default=None)
    webrtc_password: Mapped[str | None] = mapped_column(String(200), default=None)


class Membership(TenantScoped, Base):
    __tablename__ = "cc_memberships"
    __table_args__ = (
        UniqueConstraint("agent_id", "queue_id", name="uq_cc_memberships_agent_queue"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cc_agents.id", ondelete="CASCADE"), index=True
    )
    queue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cc_queues.id", ondelete="CASCADE"), index=True
    )


class AgentTransition(TenantScoped, Base):
    __tablename__ = "cc_agent_transitions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cc_agents.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[AgentState] = mapped_column(_enum(AgentState))
    to_state: Mapped[AgentState] = mapped_column(_enum(AgentState))
    reason: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueCall(TenantScoped, Base):
    """A caller's place in a queue while open, the record of its outcome once closed."""

    __tablename__ = "cc_queue_calls"
    __table_args__ = (Index("ix_cc_queue_calls_queue_state", "queue_id", "state"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cc_queues.id", ondelete="CASCADE"))
    call_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), default=None, index=True
    )
    channel_id: Mapped[str] = mapped_column(String(150), index=True)
    caller: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(default=0)
    state: Mapped[EntryState] = mapped_column(_enum(EntryState), default=EntryState.WAITING)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cc_agents.id", ondelete="SET NULL"), default=None
    )
    # The agent leg being rung for this call (Asterisk channel id).
    offer_channel: Mapped[str | None] = mapped_column(String(150), default=None)
    bridge_id: Mapped[str | None] = mapped_column(String(100), default=None)
    offered_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    abandoned_at: Mapped[datetime | None] = mapped_column(default=None)
    overflowed_at: Mapped[datetime | None] = mapped_column(default=None)
    transferred_at: Mapped[datetime | None] = mapped_column(default=None)
    overflow_target: Mapped[str | None] = mapped_column(String(100), default=None)
    offers: Mapped[int] = mapped_column(default=0)
    wait_seconds: Mapped[int | None] = mapped_column(default=None)
    handle_seconds: Mapped[int | None] = mapped_column(default=None)
    wrapup_code: Mapped[str | None] = mapped_column(String(80), default=None)
    notes: Mapped[str] = mapped_column(String(2000), default="")
    recording: Mapped[str | None] = mapped_column(String(300), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
