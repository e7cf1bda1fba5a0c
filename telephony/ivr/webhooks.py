"""Twilio Programmable Voice webhooks: the same published flows, rendered as TwiML.

Twilio keeps no state between requests, so where the caller is (node, attempt) and what was
gathered (v_* variables) travel in the action URLs Twilio calls back, which it signs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.deps import HubDep
from comms.tenants.models import Tenant
from telephony.ivr import service
from telephony.ivr.engine import CallContext, Runner, Step
from telephony.ivr.flow import FlowDocument, Route
from telephony.ivr.media import tone_id_of, tone_url
from telephony.ivr.models import Entry, VersionStatus
from telephony.ivr.twiml import media_url, render
from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import to_e164

router = APIRouter(prefix="/webhooks/twilio/voice", tags=["webhooks"])
HANGUP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


def _public_url(request: Request, public: str) -> str:
    if not public:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public.rstrip('/')}{request.url.path}{query}"


async def _verified(request: Request, hub: HubDep) -> dict[str, str]:
    from twilio.request_validator import RequestValidator  # the SDK only where it is used

    token = hub.settings.twilio_auth_token.get_secret_value()
    params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    # Twilio signs the URL it called; behind a proxy that is the public one, not ours.
    url = _public_url(request, hub.settings.public_url)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(url, params, signature):
        raise HTTPException(403, "invalid X-Twilio-Signature")
    return params


def _xml(text: str) -> Response:
    return Response(text, media_type="application/xml")


@router.post("/{did}")
async def voice(did: str, request: Request, hub: HubDep) -> Response:
    """One step of the flow mapped to ``did``; Twilio calls again at the action URL."""
    form = await _verified(request, hub)
    q = request.query_params
    number = to_e164(did)
    async with hub.db.session() as s:
        unscoped(s)
        entry = await s.scalar(select(Entry).where(Entry.did == number)) if number else None
        if entry is None:
            return _xml(HANGUP)
        tenant = await s.get(Tenant, entry.tenant_id)
        scoped_to(s, entry.tenant_id)
        version = await service.version_with(s, entry.flow_id, VersionStatus.PUBLISHED)
        if version is None or tenant is None:
            return _xml(HANGUP)
        flow = FlowDocument.model_validate(version.document)
        queries = hub.queries

        async def ask(name: str, args: Mapping[str, str]) -> Any:
            return await queries.ask(s, name, args)  # s is scoped to the entry's tenant

        runner = Runner(flow, ask=ask)
        ctx = CallContext(
            caller=form.get("From", ""),
            local_now=utcnow().astimezone(ZoneInfo(tenant.timezone)),
            variables={k[2:]: v for k, v in q.items() if k.startswith("v_")},
        )
        node = q.get("node") or flow.start
        attempt = int(q.get("attempt") or 1)
        if node not in flow.nodes:
            return _xml(HANGUP)
        if q.get("input"):
            digits = None if q.get("timeout") else form.get("Digits") or None
            nxt, retry = runner.after_input(node, digits, attempt, ctx)
            attempt = attempt + 1 if nxt == node else 1
            step = await runner.enter(nxt, ctx, retry=retry)
        elif q.get("dialled"):
            route = flow.nodes[node]
            answered = form.get("DialCallStatus") == "completed"
            if answered or not isinstance(route, Route) or route.on_failure is None:
                return _xml(HANGUP)
            step = await runner.enter(route.on_failure, ctx)
        elif q.get("recorded"):
            return _xml(HANGUP)
        else:
            step = await runner.enter(node, ctx)
        dial_number = await _dial_number(s, step)
    public = hub.settings.public_url.rstrip("/")
    key = hub.settings.ensure_secret_key()

    def media(m: str) -> str:
        tone = tone_id_of(m)
        if tone is not None:
            return tone_url(public, key, entry.tenant_id, tone)
        return media_url(m, f"{public}/media")

    base = str(request.url.path)
    if ctx.variables:
        base += "?" + urlencode({f"v_{k}": v for k, v in ctx.variables.items()})
    return _xml(
        render(
            step,
            action=f"{public}{base}",
            media_base=f"{public}/media",
            attempt=attempt,
            dial_number=dial_number,
            media=media,
            language=flow.language,
        )
    )


async def _dial_number(s: AsyncSession, step: Step) -> str | None:
    """Twilio dials phone numbers: a member or short number becomes the member's mobile."""
    target = step.target
    if step.kind != "route" or target is None or target.kind == "queue":
        return None
    if target.kind == "external":
        return to_e164(target.value)
    resolution = await vpmn.resolve_dial(s, caller="", dialled=target.value)
    return resolution.member.mobile if resolution.member else None
