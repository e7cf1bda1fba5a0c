"""Placing dial-out legs: the channel id names tenant, participant, attempt and step.

Both the API process (first attempt) and the Stasis process (retries) originate legs, and
the Stasis process learns whose leg died from the channel id alone, without a lookup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from telephony.ari import AriClient
from telephony.conference.models import Participant

CONF_ARG = "conf"


@dataclass(frozen=True)
class LegId:
    tenant_id: uuid.UUID
    participant_id: uuid.UUID
    attempt: int
    step: int

    def __str__(self) -> str:
        return f"conf-{self.tenant_id.hex}-{self.participant_id.hex}-{self.attempt}-{self.step}"

    @classmethod
    def parse(cls, channel_id: str) -> LegId | None:
        parts = channel_id.split("-")
        if len(parts) != 5 or parts[0] != "conf":
            return None
        try:
            return cls(uuid.UUID(parts[1]), uuid.UUID(parts[2]), int(parts[3]), int(parts[4]))
        except ValueError:
            return None


def step_targets(p: Participant) -> list[dict[str, object]]:
    return [t for t in p.targets if t["step"] == p.step]


async def originate(ari: AriClient, p: Participant, caller_id: str) -> str:
    """Call the participant's endpoint for the current step; the answered leg enters Stasis."""
    target = step_targets(p)[0]
    leg = str(LegId(p.tenant_id, p.id, p.attempt, p.step))
    await ari.channels.originate(
        str(target["endpoint"]),
        app=ari.app,
        app_args=CONF_ARG,
        caller_id=caller_id,
        ring_timeout=int(str(target["timeout"])),
        channel_id=leg,
    )
    return leg
