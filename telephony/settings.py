"""Telephony's own settings (APN / RADIUS): `HUITONG_*` variables that comms need not know."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TelephonySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUITONG_", extra="ignore")

    radius_host: str = Field("0.0.0.0", description="huitong radius listen address (UDP).")  # noqa: S104
    radius_auth_port: int = Field(1812, description="RADIUS authentication port (RFC 2865).")
    radius_acct_port: int = Field(1813, description="RADIUS accounting port (RFC 2866).")
    radius_poll_interval: float = Field(
        1.0,
        description="Seconds between checks for changed APNs, NAS clients and devices "
        "(the RADIUS server answers from an in-process copy of them).",
    )
    radius_lease_grace: float = Field(
        300.0,
        description="Seconds a pool address handed out in an Access-Accept stays reserved "
        "when no Accounting-Start follows.",
    )
    radius_require_message_authenticator: bool = Field(
        False,
        description="Drop Access-Requests without a Message-Authenticator (BlastRADIUS "
        "hardening; every current GGSN/PGW sends one).",
    )

    # The Stasis app (`huitong ari`).
    ari_url: str = Field(
        "http://huitong:huitong@127.0.0.1:8088",
        description="Asterisk's ARI: http://user:password@host:8088 (the /ari path is implied).",
    )
    ari_app: str = Field("huitong", description="Stasis application name the dialplan uses.")
    ari_click_poll_interval: float = Field(
        0.5,
        gt=0,
        description="Seconds between the Stasis app's checks for new click-to-call requests "
        "(POST /api/v1/calls).",
    )

    asterisk_sounds_dir: Path | None = Field(
        None,
        description="Asterisk's sounds directory (e.g. /var/lib/asterisk/sounds); uploaded "
        "ringback tones are written to huitong/ringback/<id>.wav under it. Unset: not copied.",
    )

    cc_tick_seconds: float = Field(
        1.0,
        gt=0,
        description="How often the Stasis app checks queues: wrap-ups over, max wait, "
        "announcements, agents made available through the API.",
    )

    # Voicemail and conferences (the Stasis app).
    voicemail_number: str = Field(
        "*98", description="Number members dial to listen to their voicemail (PIN by DTMF)."
    )
    voicemail_max_seconds: int = Field(180, description="Longest voicemail message recorded.")
    conference_dial_attempts: int = Field(
        2, description="Rounds of calls (desk then mobile) to a meeting member before giving up."
    )
    conference_retry_delay: float = Field(
        30.0, description="Seconds between two rounds of calls to a member who did not answer."
    )

    @property
    def ari_base_url(self) -> str:
        """ari_url with the /ari path AriClient expects."""
        url = httpx.URL(self.ari_url)
        path = url.path.rstrip("/")
        return str(url.copy_with(path=path if path.endswith("/ari") else path + "/ari"))
