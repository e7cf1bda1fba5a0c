"""Bus subscribers: an approver's SMS reply ("Y 1234" / "N 1234") decides their step."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.bus import Event, HandlerContext, SubscriberSet
from comms.messages.events import MessageInbound
from comms.messages.models import Channel, Message
from comms.messages.sender import Sender
from erp.approvals import service
from erp.approvals.models import ApprovalDecision, Decision, DecisionChannel
from erp.settings import ErpSettings

log = logging.getLogger(__name__)
subs = SubscriberSet("erp.approvals")
SENDER = "messaging.sender"  # carries the hub Settings the send rules read
# Handsets add blanks and punctuation; Chinese keyboards may send full-width letters.
_REPLY = re.compile(r"^\s*([YNyn是否])\s*[,.，。:：]?\s*(\d{4})\s*[.!。！]?\s*$")


def parse_reply(text: str) -> tuple[Decision, str] | None:
    m = _REPLY.match(text.translate({0xFF39: "Y", 0xFF2E: "N", 0xFF59: "y", 0xFF4E: "n"}))
    if m is None:
        return None
    yes = m.group(1) in "Yy是"
    return (Decision.APPROVE if yes else Decision.REJECT), m.group(2)


@subs.on(MessageInbound, name="sms_reply")
async def sms_reply(ctx: HandlerContext, event: Event[MessageInbound]) -> None:
    """Decide the pending step whose code the reply names, if it comes from the registered
    mobile of one of that step's approvers; anything else never decides (logged, audited)."""
    p = event.payload
    if p.channel is not Channel.SMS:
        return
    s = ctx.session
    msg = await s.get(Message, p.message_id)
    if msg is None or not msg.sender:
        return
    parsed = parse_reply(msg.body or "")
    if parsed is None:
        return  # not an approval reply
    decision, code = parsed
    if await s.scalar(select(ApprovalDecision.id).where(ApprovalDecision.note == f"sms:{msg.id}")):
        return  # this reply was applied already
    steps = await service.pending_steps_by_code(s, code)
    matches = []
    for candidate in steps:
        for u in await service.approvers(s, candidate):
            if u.mobile and u.mobile == msg.sender:
                matches.append((candidate, u))
    if len(matches) != 1:
        if not steps:
            why = "no pending step has this code"
        elif not matches:
            why = "not an approver's mobile"
        else:
            why = "the code names several of this approver's steps"
        log.warning("approval SMS reply from %s with code %s ignored: %s", msg.sender, code, why)
        audit.record(
            s,
            Principal.system(event.tenant_id),
            "erp.approval.sms_ignored",
            "erp_approval",
            steps[0].request_id if len(steps) == 1 else None,
            {"from": msg.sender, "code": code, "why": why, "message_id": str(msg.id)},
        )
        return
    step, approver = matches[0]
    r = await service.get_request(s, step.request_id)
    sender: Sender = ctx.services[SENDER]
    try:
        await service.decide(
            s,
            sender.settings,
            r,
            step,
            approver.id,
            decision,
            DecisionChannel.SMS,
            ErpSettings().erp_approval_link_ttl,
            note=f"sms:{msg.id}",
        )
    except service.AlreadyDecided:
        log.info("approval SMS reply from %s came after the step was decided", msg.sender)
