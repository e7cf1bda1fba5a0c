"""Isolation cases for the conference routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import itertools

import httpx

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case
from telephony.conference import service
from telephony.conference.models import ConferenceState, Participant, ParticipantState, Role
from telephony.conference.schemas import RoomIn

NUMBERS = itertools.count(100)


async def make_room(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    data = RoomIn(
        name="Weekly",
        number=f"8{next(NUMBERS):03d}",
        participant_pin="1234",
        moderator_pin="9999",
    )
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        room = await service.create_room(s, Principal.system(owner.id), data)
    return {"room_id": str(room.id)}


async def make_conference(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    # Built as the Stasis app would on a dial-in, without a call: no ARI needed.
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        conf = service.new_conference(owner.id, None, "Weekly", ConferenceState.ACTIVE)
        s.add(conf)
        p = Participant(
            tenant_id=owner.id,
            conference_id=conf.id,
            number="+8613700000000",
            role=Role.PARTICIPANT,
            state=ParticipantState.LEFT,
        )
        s.add(p)
        await s.commit()
        return {"conference_id": str(conf.id), "participant_id": str(p.id)}


CASES: dict[str, Case] = {
    "/api/v1/conference-rooms/{room_id}": Case(make_room),
    "/api/v1/conferences/{conference_id}": Case(make_conference),
    "/api/v1/conferences/{conference_id}/participants": Case(make_conference),
    "/api/v1/conferences/{conference_id}/mute": Case(
        make_conference, bodies={"POST": {"muted": True}}
    ),
    "/api/v1/conferences/{conference_id}/participants/{participant_id}/mute": Case(
        make_conference, bodies={"POST": {"muted": True}}
    ),
    "/api/v1/conferences/{conference_id}/participants/{participant_id}": Case(make_conference),
    "/api/v1/conferences/{conference_id}/lock": Case(
        make_conference, bodies={"POST": {"locked": True}}
    ),
    "/api/v1/conferences/{conference_id}/end": Case(make_conference),
}
