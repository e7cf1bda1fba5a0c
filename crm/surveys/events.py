"""Topics the surveys slice publishes."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from comms.bus.topics import EventPayload


class SurveyAnswered(EventPayload):
    """A customer scored a resolved ticket 1-5 (5 best) by SMS."""

    topic: ClassVar[str] = "crm.survey.answered"
    version: ClassVar[int] = 1

    survey_id: uuid.UUID
    ticket_id: uuid.UUID
    contact_id: uuid.UUID | None
    score: int = Field(ge=1, le=5)
    agent_id: uuid.UUID | None
    team: str | None


TOPICS: list[type[EventPayload]] = [SurveyAnswered]
