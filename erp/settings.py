"""erp's own settings: `HUITONG_*` variables that comms need not know."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ErpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUITONG_", extra="ignore")

    erp_approval_link_ttl: int = Field(
        172800,
        ge=60,
        description="Seconds an emailed approve/reject link stays valid (each is single use).",
    )
