"""Signed approve/reject links: HMAC-SHA256 with the hub's secret key over the link id, its
tenant and its expiry; the row behind the id makes a link single use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from comms.errors import HuitongError

_PURPOSE = b"erp.approval.link.v1"


class LinkInvalid(HuitongError):
    """Not a link this hub signed (tampered or truncated): 403."""


class LinkGone(HuitongError):
    """A genuine link that can no longer be used (expired, used, step decided): 410."""


@dataclass(frozen=True)
class LinkToken:
    link_id: uuid.UUID
    tenant_id: uuid.UUID
    expires: int  # unix seconds


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), _PURPOSE + b"|" + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: str, token: LinkToken) -> str:
    body = f"{token.link_id.hex}.{token.tenant_id.hex}.{token.expires}"
    return f"{body}.{_mac(secret, body)}"


def verify(secret: str, raw: str, now: datetime | None = None) -> LinkToken:
    """The token's contents if the signature holds and it has not expired."""
    parts = raw.split(".")
    if len(parts) != 4:
        raise LinkInvalid("this approval link is not valid (damaged or altered)")
    body, mac = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_mac(secret, body), mac):
        raise LinkInvalid("this approval link is not valid (damaged or altered)")
    try:
        token = LinkToken(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), int(parts[2]))
    except ValueError:
        raise LinkInvalid("this approval link is not valid (damaged or altered)") from None
    now = now or datetime.now(UTC)
    if now.timestamp() >= token.expires:
        raise LinkGone("this approval link has expired; decide in the console or by SMS")
    return token
