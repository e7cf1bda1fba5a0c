"""Topics of the campaigns slice: one event per chunk of recipients to send."""

from __future__ import annotations

import uuid
from typing import ClassVar

from comms.bus.topics import EventPayload


class CampaignChunk(EventPayload):
    """Work: queue the next chunk of a campaign's pending recipients (id > after_id)."""

    topic: ClassVar[str] = "comms.sms_campaign.chunk"
    version: ClassVar[int] = 1

    campaign_id: uuid.UUID
    after_id: int = 0


TOPICS: list[type[EventPayload]] = [CampaignChunk]
