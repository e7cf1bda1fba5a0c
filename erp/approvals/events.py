"""Topics the approvals slice publishes: staff are named by user id."""

from __future__ import annotations

import uuid
from typing import ClassVar

from comms.bus.topics import EventPayload


class ApprovalRequested(EventPayload):
    """A step is waiting for its approvers (on create, and again for each next step)."""

    topic: ClassVar[str] = "erp.approval.requested"
    version: ClassVar[int] = 1

    request_id: uuid.UUID
    kind: str
    amount: int  # fen
    reason: str
    requester_id: uuid.UUID
    step: int  # 1-based position among the request's steps
    steps: int
    approver_ids: list[uuid.UUID]
    summary: str


class ApprovalDecided(EventPayload):
    """A step was decided; `final` when the request is now approved or rejected."""

    topic: ClassVar[str] = "erp.approval.decided"
    version: ClassVar[int] = 1

    request_id: uuid.UUID
    kind: str
    amount: int
    reason: str
    requester_id: uuid.UUID
    step: int
    steps: int
    decision: str  # approve | reject
    channel: str  # api | link | sms | auto (no step applied to the amount)
    approver_id: uuid.UUID | None
    status: str  # the request's status after the decision
    final: bool
    summary: str


TOPICS: list[type[EventPayload]] = [ApprovalRequested, ApprovalDecided]
