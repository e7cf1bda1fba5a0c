"""crm's own settings: `HUITONG_CRM_*` variables that comms need not know."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CrmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUITONG_", extra="ignore")

    crm_survey_reply_hours: float = Field(
        72.0,
        description="Hours after a satisfaction survey SMS in which a 1-5 reply from that "
        "number counts as its score (and is kept off the tickets).",
    )
    crm_kb_url: str = Field(
        "",
        description="Public link of a knowledge-base article, `{id}` replaced by its id "
        "(e.g. https://help.example.cn/kb/{id}); empty = replies name articles by title only.",
    )
