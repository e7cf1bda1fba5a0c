"""Media Twilio fetches while it runs a flow: tenant tones behind signed, expiring URLs.

Twilio fetches `<Play>` URLs without our credentials, so the URL itself carries the right to
the file: an HMAC over (tenant, tone, expiry) with the hub's secret key. A URL minted for one
tenant's tone cannot be turned into another's (the signature covers both ids, and the tone is
read through a session scoped to the signed tenant).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from comms.db.tenancy import scoped_to
from comms.deps import HubDep
from telephony.ringback import service as ringback

router = APIRouter(prefix="/media", tags=["media"])
TONE_PREFIX = "sound:huitong/ringback/"
URL_TTL_SECONDS = 3600  # longer than any call; Twilio may re-fetch on every <Play>


def signature(key: str, tenant_id: uuid.UUID, tone_id: uuid.UUID, expires: int) -> str:
    message = f"tone:{tenant_id}:{tone_id}:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def tone_url(
    public: str, key: str, tenant_id: uuid.UUID, tone_id: uuid.UUID, now: float | None = None
) -> str:
    expires = int((now if now is not None else time.time()) + URL_TTL_SECONDS)
    sig = signature(key, tenant_id, tone_id, expires)
    return f"{public.rstrip('/')}/media/tones/{tone_id}.wav?t={tenant_id}&e={expires}&s={sig}"


def tone_id_of(media: str) -> uuid.UUID | None:
    """The tone behind an ARI media URI such as ``sound:huitong/ringback/<id>``."""
    if not media.startswith(TONE_PREFIX):
        return None
    try:
        return uuid.UUID(media.removeprefix(TONE_PREFIX))
    except ValueError:
        return None


@router.get("/tones/{tone_id}.wav", response_class=Response)
async def tone_media(
    tone_id: uuid.UUID,
    hub: HubDep,
    t: Annotated[uuid.UUID, Query(description="the tenant the URL was signed for")],
    e: Annotated[int, Query(description="expiry, Unix seconds")],
    s: Annotated[str, Query(max_length=64, description="signature")],
) -> Response:
    """A tone's 8 kHz WAV for Twilio's `<Play>`; the signed query is the credential."""
    expected = signature(hub.settings.ensure_secret_key(), t, tone_id, e)
    if e < time.time() or not hmac.compare_digest(s, expected):
        raise HTTPException(403, "invalid or expired media signature")
    async with hub.db.session() as session:
        scoped_to(session, t)
        audio = await ringback.tone_audio(session, tone_id)
    return Response(
        audio, media_type="audio/wav", headers={"Cache-Control": "private, max-age=300"}
    )
