"""What the console's reads answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class WebRtc(BaseModel):
    """A SIP-over-WebSocket registration for JsSIP; absent means desk/mobile phone mode."""

    wss_url: str
    sip_uri: str
    password: str
    display_name: str = ""


class ConsoleConfig(BaseModel):
    role: str
    user_id: str | None = None
    name: str = ""
    email: str | None = None
    department: str = ""
    mobile: str | None = None
    webrtc: WebRtc | None = None


class ScreenPop(BaseModel):
    caller: str
    phone: str
    contact: dict[str, Any] | None
    # Absent when no package answers erp.recent_orders; [] when the caller has none.
    orders: list[dict[str, Any]] | None = None
