"""The signed links mailed to approvers: GET shows a confirm page, POST decides. No login:
the HMAC signature, the expiry and the single-use row are the credential."""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.deps import HubDep
from comms.errors import HuitongError, PermissionDenied
from erp.approvals import links, service
from erp.approvals.models import ApprovalLink, ApprovalStep, Decision, DecisionChannel, StepStatus
from erp.approvals.notify import describe
from erp.settings import ErpSettings

router = APIRouter(prefix="/erp/approval-links", tags=["erp"])


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status)


def _refusal(exc: HuitongError) -> HTMLResponse:
    # Genuine but spent links are 410 (gone); forged ones and non-approvers are 403.
    status = 403 if isinstance(exc, links.LinkInvalid | PermissionDenied) else 410
    return _page("Link not usable", f"<p>{html.escape(exc.message)}</p>", status)


def _usable(link: ApprovalLink | None) -> ApprovalLink:
    if link is None:
        raise links.LinkInvalid("this approval link is not valid (unknown link)")
    if link.used_at is not None:
        raise links.LinkGone("this approval link was used already")
    return link


@router.get("/{token}", response_class=HTMLResponse)
async def confirm_page(token: str, hub: HubDep) -> HTMLResponse:
    try:
        t = links.verify(hub.settings.ensure_secret_key(), token)
        async with hub.db.session() as s:
            scoped_to(s, t.tenant_id)
            link = _usable(await s.get(ApprovalLink, t.link_id))
            step = await s.get(ApprovalStep, link.step_id)
            assert step is not None
            r = await service.get_request(s, step.request_id)
            if step.status is not StepStatus.PENDING:
                raise links.LinkGone(f"this approval step was decided already ({r.status.value})")
    except HuitongError as exc:
        return _refusal(exc)
    verb = "Approve" if link.decision is Decision.APPROVE else "Reject"
    form = (
        f"<p>{html.escape(describe(r))}</p>"
        f"<form method='post'><button type='submit'>{verb}</button></form>"
    )
    return _page(f"{verb} this request?", form)


@router.post("/{token}", response_class=HTMLResponse)
async def decide_by_link(token: str, hub: HubDep) -> HTMLResponse:
    try:
        t = links.verify(hub.settings.ensure_secret_key(), token)
        async with hub.db.session() as s:
            scoped_to(s, t.tenant_id)
            link = _usable(await s.get(ApprovalLink, t.link_id))
            step = await s.get(ApprovalStep, link.step_id)
            assert step is not None
            r = await service.get_request(s, step.request_id)
            if step.status is not StepStatus.PENDING:
                raise links.LinkGone(f"this approval step was decided already ({r.status.value})")
            link.used_at = utcnow()
            try:
                await service.decide(
                    s,
                    hub.settings,
                    r,
                    step,
                    link.approver_id,
                    link.decision,
                    DecisionChannel.LINK,
                    ErpSettings().erp_approval_link_ttl,
                )
            except service.AlreadyDecided as exc:
                raise links.LinkGone(exc.message) from None
            await s.commit()
    except HuitongError as exc:
        return _refusal(exc)
    done = "approved" if link.decision is Decision.APPROVE else "rejected"
    return _page(f"Request {done}", f"<p>{html.escape(describe(r))}</p><p>Thank you.</p>")
