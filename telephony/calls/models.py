"""Call rows: the call, its legs (Asterisk channels), and every state transition it made."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow
from telephony.calls.state import CallState, LegState
from telephony.vpmn.models import Disposition, str_enum


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class LegRole(enum.StrEnum):
    CALLER = "caller"
    CALLEE = "callee"


class Call(TenantScoped, Timestamped, Base):
    __tablename__ = "calls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    state: Mapped[CallState] = mapped_column(str_enum(CallState), index=True)
    caller: Mapped[str] = mapped_column(String(100))
    callee: Mapped[str] = mapped_column(String(100))
    in_network: Mapped[bool] = mapped_column(default=False)
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vpmn_members.id", ondelete="SET NULL"), default=None
    )
    queue: Mapped[str | None] = mapped_column(String(100), default=None)
    agent: Mapped[str | None] = mapped_column(String(200), default=None)
    # The mixing bridge that joins the legs once answered (Asterisk bridge id).
    bridge_id: Mapped[str | None] = mapped_column(String(100), default=None)
    ringback_media: Mapped[str | None] = mapped_column(String(300), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition), default=None)
    end_reason: Mapped[str] = mapped_column(String(100), default="")


class CallLeg(TenantScoped, Timestamped, Base):
    __tablename__ = "call_legs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    # Asterisk channel ids are unique per Asterisk instance, not across the hub's history.
    channel_id: Mapped[str] = mapped_column(String(150), index=True)
    role: Mapped[LegRole] = mapped_column(str_enum(LegRole))
    endpoint: Mapped[str] = mapped_column(String(200), default="")
    step: Mapped[int] = mapped_column(default=0)
    state: Mapped[LegState] = mapped_column(str_enum(LegState))
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    cause: Mapped[int | None] = mapped_column(default=None)


class CallTransition(TenantScoped, Base):
    """The audit trail of the state machine: every move, why, and when."""

    __tablename__ = "call_transitions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[CallState] = mapped_column(str_enum(CallState))
    to_state: Mapped[CallState] = mapped_column(str_enum(CallState))
    reason: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
