"""Twilio's callbacks: status receipts and inbound SMS, accepted only with a valid
X-Twilio-Signature (no bearer token: Twilio signs with the account's auth token)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response

from comms.channels.sms.provider import DeliveryReceipt, InboundSms, ReceiptState, SmsSink
from comms.channels.sms.twilio import INBOUND_PATH, STATUS_PATH
from comms.db.base import utcnow
from comms.deps import HubDep

router = APIRouter(tags=["webhooks"])

SINK = "messaging.sink"

# Twilio's MessageStatus values; anything not listed is a step on the way (no final state).
_STATES = {
    "delivered": ReceiptState.DELIVERED,
    "read": ReceiptState.DELIVERED,
    "undelivered": ReceiptState.UNDELIVERED,
    "failed": ReceiptState.REJECTED,
    "canceled": ReceiptState.REJECTED,
}


async def _verified(request: Request, hub: HubDep) -> dict[str, str]:
    """The form fields, or 403 when the signature does not match (nothing is changed)."""
    from twilio.request_validator import RequestValidator  # the SDK only where it is used

    token = hub.settings.twilio_auth_token.get_secret_value()
    params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    # Twilio signs the URL it called; behind a proxy that is the public one, not ours.
    public = hub.settings.public_url.rstrip("/")
    url = str(request.url)
    if public:
        url = f"{public}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(url, params, signature):
        raise HTTPException(403, "invalid X-Twilio-Signature")
    return params


@router.post(STATUS_PATH, status_code=204)
async def twilio_status(request: Request, hub: HubDep) -> Response:
    params = await _verified(request, hub)
    sink: SmsSink = hub.services[SINK]
    await sink.on_receipt(
        DeliveryReceipt(
            provider="twilio",
            provider_message_id=params.get("MessageSid", ""),
            state=_STATES.get(params.get("MessageStatus", ""), ReceiptState.ACCEPTED),
            error_code=params.get("ErrorCode") or None,
            done_at=utcnow(),
            raw=params,
        )
    )
    return Response(status_code=204)


@router.post(INBOUND_PATH)
async def twilio_inbound(request: Request, hub: HubDep) -> Response:
    params = await _verified(request, hub)
    sink: SmsSink = hub.services[SINK]
    await sink.on_inbound(
        InboundSms(
            provider="twilio",
            sender=params.get("From", ""),
            recipient=params.get("To", ""),
            text=params.get("Body", ""),
            received_at=utcnow(),
            provider_message_ids=[params["MessageSid"]] if params.get("MessageSid") else [],
        )
    )
    # Empty TwiML: no automatic reply; replies go out through POST /api/v1/messages.
    return Response("<Response/>", media_type="application/xml")
