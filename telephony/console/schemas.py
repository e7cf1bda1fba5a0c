"""What the console's reads answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class DialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=64)


class DialOut(BaseModel):
    """The agent's phone is ringing; answered, it calls `number`."""

    channel_id: str
    number: str
    endpoint: str
