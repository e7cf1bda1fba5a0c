"""Approval notices through the messages service (never a provider): SMS with the reply code
and email with signed links to approvers, the outcome to the requester."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.models import User
from comms.db.base import utcnow
from comms.errors import HuitongError
from comms.messages.models import Channel
from comms.messages.schemas import MessageCreate
from comms.messages.service import queue_message
from comms.settings import Settings
from erp.approvals import links
from erp.approvals.models import ApprovalLink, ApprovalRequest, ApprovalStep, Decision

log = logging.getLogger(__name__)
LINK_PATH = "/erp/approval-links/"


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def describe(r: ApprovalRequest) -> str:
    return f"{r.kind.value} of {yuan(r.amount)} CNY: {r.reason}"


async def _queue(s: AsyncSession, settings: Settings, data: MessageCreate) -> None:
    """Queue in the caller's transaction; a refused notice (quota, cap, bad address) is logged,
    it must not undo the approval step it announces."""
    try:
        async with s.begin_nested():
            await queue_message(s, settings, data, commit=False)
    except HuitongError as exc:
        log.warning("approval notice to %s not queued: %s", data.to, exc.message)


async def notify_approver(
    s: AsyncSession,
    settings: Settings,
    r: ApprovalRequest,
    step: ApprovalStep,
    approver: User,
    ttl: int,
) -> None:
    head = (
        f"Approval needed (step {step.position + 1}/{len(r.steps)}): {describe(r)} "
        f"from {r.requester_name}."
    )
    if approver.mobile:
        text = f"{head} Reply Y {step.code} to approve, N {step.code} to reject."
        await _queue(s, settings, MessageCreate(channel=Channel.SMS, to=approver.mobile, body=text))
    expires = utcnow() + timedelta(seconds=ttl)
    urls: dict[Decision, str] = {}
    for decision in Decision:
        link = ApprovalLink(
            step_id=step.id, approver_id=approver.id, decision=decision, expires_at=expires
        )
        s.add(link)
        await s.flush()
        token = links.sign(
            settings.ensure_secret_key(),
            links.LinkToken(link.id, link.tenant_id, int(expires.timestamp())),
        )
        urls[decision] = f"{settings.public_url.rstrip('/')}{LINK_PATH}{token}"
    body = (
        f"{head}\n\nApprove: {urls[Decision.APPROVE]}\nReject: {urls[Decision.REJECT]}\n\n"
        f"Each link works once and expires {expires:%Y-%m-%d %H:%M} UTC. You can also reply to "
        f"the SMS with Y {step.code} or N {step.code}."
    )
    await _queue(
        s,
        settings,
        MessageCreate(
            channel=Channel.EMAIL,
            to=approver.email,
            subject=f"Approval needed: {r.kind.value} {yuan(r.amount)} CNY",
            body=body,
        ),
    )


async def notify_requester(
    s: AsyncSession, settings: Settings, r: ApprovalRequest, requester: User, line: str
) -> None:
    if requester.mobile:
        await _queue(
            s, settings, MessageCreate(channel=Channel.SMS, to=requester.mobile, body=line)
        )
    await _queue(
        s,
        settings,
        MessageCreate(
            channel=Channel.EMAIL,
            to=requester.email,
            subject=f"Your {r.kind.value} request: {r.status.value}",
            body=line,
        ),
    )
