"""Approval chains per tenant and kind, requests with their step instances, decisions and
the single-use signed links sent to approvers by email."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comms.auth.models import User
from comms.db.base import Base, TenantScoped, new_id, utcnow
from erp.columns import enum_column


class ApprovalKind(enum.StrEnum):
    PURCHASE = "purchase"
    DISCOUNT = "discount"
    EXPENSE = "expense"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class StepStatus(enum.StrEnum):
    WAITING = "waiting"  # a later step, not yet reached
    PENDING = "pending"  # approvers notified, decision awaited
    APPROVED = "approved"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # never reached: an earlier step rejected


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class DecisionChannel(enum.StrEnum):
    API = "api"
    LINK = "link"
    SMS = "sms"


class ChainStep(TenantScoped, Base):
    """One step of a tenant's chain for one kind; it applies when amount >= min_amount."""

    __tablename__ = "erp_approval_chain_steps"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "position", name="uq_erp_approval_chain_steps_pos"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[ApprovalKind] = mapped_column(enum_column(ApprovalKind))
    position: Mapped[int] = mapped_column()
    min_amount: Mapped[int] = mapped_column(default=0)  # fen
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )


class ApprovalRequest(TenantScoped, Base):
    __tablename__ = "erp_approval_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[ApprovalKind] = mapped_column(enum_column(ApprovalKind))
    amount: Mapped[int] = mapped_column()  # fen
    reason: Mapped[str] = mapped_column(String(500))
    requester_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus), default=RequestStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    steps: Mapped[list[ApprovalStep]] = relationship(
        order_by="ApprovalStep.position", lazy="selectin", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[ApprovalDecision]] = relationship(
        order_by="ApprovalDecision.at", lazy="selectin", cascade="all, delete-orphan"
    )
    requester: Mapped[User] = relationship(lazy="selectin", viewonly=True)

    @property
    def requester_name(self) -> str:
        """What an approver reads in the console and the SMS: the name, else the email."""
        return self.requester.name or self.requester.email


class ApprovalStep(TenantScoped, Base):
    """A chain step copied onto a request when it was made (later chain edits do not move it)."""

    __tablename__ = "erp_approval_steps"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_approval_requests.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status: Mapped[StepStatus] = mapped_column(enum_column(StepStatus), default=StepStatus.WAITING)
    # What an approver texts back ("Y 1234"); unique among the tenant's pending steps.
    code: Mapped[str | None] = mapped_column(String(4), default=None, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class ApprovalDecision(TenantScoped, Base):
    """Who decided a step, how and through which channel; one per step."""

    __tablename__ = "erp_approval_decisions"
    __table_args__ = (UniqueConstraint("step_id", name="uq_erp_approval_decisions_step_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_approval_requests.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_approval_steps.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column()
    approver_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision: Mapped[Decision] = mapped_column(enum_column(Decision))
    channel: Mapped[DecisionChannel] = mapped_column(enum_column(DecisionChannel))
    note: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalLink(TenantScoped, Base):
    """A signed approve/reject link mailed to one approver for one step; used at most once."""

    __tablename__ = "erp_approval_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    step_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_approval_steps.id", ondelete="CASCADE"), index=True
    )
    approver_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision: Mapped[Decision] = mapped_column(enum_column(Decision))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
