"""Conference routes: rooms, one-click meetings, participants and moderator controls."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from comms.deps import AdminDep, AgentDep, HubDep, SessionDep, SupervisorDep, ViewerDep
from telephony.ari import AriClient
from telephony.conference import service
from telephony.conference.schemas import (
    ConferenceOut,
    LockIn,
    MeetingIn,
    MuteIn,
    ParticipantOut,
    RoomIn,
    RoomOut,
)
from telephony.settings import TelephonySettings

router = APIRouter(prefix="/api/v1", tags=["conference"])
ARI_SERVICE = "telephony.ari"


def ari_rest(hub: HubDep) -> AriClient:
    """ARI's REST side for this API process (no event socket: the Stasis app has that)."""
    client = hub.services.get(ARI_SERVICE)
    if client is None:
        cfg = TelephonySettings()
        client = hub.services[ARI_SERVICE] = AriClient(cfg.ari_base_url, cfg.ari_app)
    assert isinstance(client, AriClient)
    return client


AriDep = Annotated[AriClient, Depends(ari_rest)]


@router.post("/conference-rooms", response_model=RoomOut, status_code=status.HTTP_201_CREATED)
async def create_room(body: RoomIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.create_room(s, actor, body)


@router.get("/conference-rooms", response_model=list[RoomOut])
async def list_rooms(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_rooms(s)


@router.get("/conference-rooms/{room_id}", response_model=RoomOut)
async def get_room(room_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_room(s, room_id)


@router.post("/conferences", response_model=ConferenceOut, status_code=status.HTTP_201_CREATED)
async def start_meeting(
    body: MeetingIn, actor: AgentDep, s: SessionDep, hub: HubDep, ari: AriDep
) -> object:
    """Call every member now (desk then mobile for members) and bridge whoever answers."""
    return await service.start_meeting(s, hub.settings, ari, actor, body)


@router.get("/conferences", response_model=list[ConferenceOut])
async def list_conferences(
    actor: ViewerDep, s: SessionDep, live: Annotated[bool, Query()] = False
) -> object:
    """Newest first (at most 100); `live=true`: only meetings that have not ended."""
    return await service.list_conferences(s, live=live)


@router.get("/conferences/{conference_id}", response_model=ConferenceOut)
async def get_conference(conference_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_conference(s, conference_id)


@router.get("/conferences/{conference_id}/participants", response_model=list[ParticipantOut])
async def list_participants(conference_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.participants(s, conference_id)


@router.post("/conferences/{conference_id}/mute", response_model=list[ParticipantOut])
async def mute_all(
    conference_id: uuid.UUID, body: MuteIn, actor: SupervisorDep, s: SessionDep, ari: AriDep
) -> object:
    """Mute (or unmute) every participant who is not a moderator."""
    return await service.set_muted(s, ari, actor, conference_id, None, body.muted)


@router.post(
    "/conferences/{conference_id}/participants/{participant_id}/mute",
    response_model=list[ParticipantOut],
)
async def mute_one(
    conference_id: uuid.UUID,
    participant_id: uuid.UUID,
    body: MuteIn,
    actor: SupervisorDep,
    s: SessionDep,
    ari: AriDep,
) -> object:
    return await service.set_muted(s, ari, actor, conference_id, participant_id, body.muted)


@router.delete(
    "/conferences/{conference_id}/participants/{participant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_participant(
    conference_id: uuid.UUID,
    participant_id: uuid.UUID,
    actor: SupervisorDep,
    s: SessionDep,
    ari: AriDep,
) -> Response:
    await service.remove(s, ari, actor, conference_id, participant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conferences/{conference_id}/lock", response_model=ConferenceOut)
async def lock(
    conference_id: uuid.UUID, body: LockIn, actor: SupervisorDep, s: SessionDep
) -> object:
    return await service.set_locked(s, actor, conference_id, body.locked)


@router.post("/conferences/{conference_id}/end", response_model=ConferenceOut)
async def end(conference_id: uuid.UUID, actor: SupervisorDep, s: SessionDep, ari: AriDep) -> object:
    return await service.end(s, ari, actor, conference_id)
