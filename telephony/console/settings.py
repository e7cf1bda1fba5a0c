"""The console's own settings: `HUITONG_CONSOLE_*` variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUITONG_CONSOLE_", extra="ignore")

    dial_context: str = Field(
        "huitong-agents-out",
        description="Asterisk dialplan context click-to-call sends the agent's answered phone "
        "to, at extension = the number dialled (it decides the trunk and caller id).",
    )
    dial_ring_timeout: int = Field(
        30, description="Seconds the agent's own phone rings for a click-to-call."
    )
