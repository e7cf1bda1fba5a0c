"""Conference use cases: rooms, one-click meetings and the moderator's controls.

The API process talks to ARI's REST side only (originate, mute, hang up, destroy the
bridge); everything that follows from channel events (joined, left, retries, CDRs) is the
Stasis process's (`stasis.py`), so each row has one writer per kind of change.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput, NotFound
from comms.messages import service as messages
from comms.messages.models import Channel
from comms.messages.schemas import MessageCreate
from comms.settings import Settings
from telephony.ari import AriClient, AriError
from telephony.conference.dialing import originate
from telephony.conference.events import (
    ConferenceEnded,
    ConferenceLocked,
    ParticipantMuted,
)
from telephony.conference.models import (
    Conference,
    ConferenceState,
    Participant,
    ParticipantState,
    Role,
    Room,
)
from telephony.conference.schemas import MeetingIn, RoomIn
from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import Action

log = logging.getLogger(__name__)
IN_CALL = (ParticipantState.WAITING, ParticipantState.JOINED)
LIVE = (ParticipantState.DIALING, ParticipantState.PIN, *IN_CALL)
LIST_LIMIT = 100

# ------------------------------------------------------------------ rooms


async def create_room(session: AsyncSession, actor: Principal, data: RoomIn) -> Room:
    if data.participant_pin == data.moderator_pin:
        raise InvalidInput("moderator_pin: must differ from participant_pin", field="moderator_pin")
    plan = await vpmn.plan_view(session)
    if len(data.number) != plan.short_length or not data.number.startswith(plan.prefixes):
        raise InvalidInput(
            f"number: not a short number of this VPMN ({plan.short_length} digits, "
            f"starting {'/'.join(plan.prefixes)})",
            field="number",
        )
    members = await vpmn.list_members(session)
    if any(m.short_number == data.number for m in members):
        raise Conflict("number: a member already has this short number", field="number")
    room = Room(**data.model_dump())
    session.add(room)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("number: another room has this number", field="number") from exc
    audit.record(
        session,
        actor,
        "conference.room.create",
        "conference_room",
        room.id,
        data.model_dump(exclude={"participant_pin", "moderator_pin"}),
    )
    await session.commit()
    return room


async def list_rooms(session: AsyncSession) -> list[Room]:
    return list(await session.scalars(select(Room).order_by(Room.number)))


async def get_room(session: AsyncSession, room_id: uuid.UUID) -> Room:
    room = await session.get(Room, room_id)
    if room is None:
        raise NotFound("conference room not found")
    return room


async def room_for_dialled(session: AsyncSession, dialled: str) -> Room | None:
    """The room a dialled number (short number or DID) reaches, if any."""
    q = select(Room).where((Room.number == dialled) | (Room.did == dialled))
    return await session.scalar(q)


async def open_conference(session: AsyncSession, room: Room) -> Conference:
    """The room's meeting in progress, or a new one waiting for its moderator."""
    conf = await session.scalar(
        select(Conference).where(
            Conference.room_id == room.id, Conference.state != ConferenceState.ENDED
        )
    )
    if conf is None:
        conf = new_conference(room.tenant_id, room.id, room.name, ConferenceState.WAITING)
        session.add(conf)
        await session.flush()
    return conf


def new_conference(
    tenant_id: uuid.UUID, room_id: uuid.UUID | None, subject: str, state: ConferenceState
) -> Conference:
    cid = uuid.uuid4()
    return Conference(
        id=cid,
        tenant_id=tenant_id,
        room_id=room_id,
        subject=subject,
        state=state,
        bridge_id=f"conf-{cid.hex}",
    )


# ------------------------------------------------------------------ one-click meetings


async def start_meeting(
    session: AsyncSession,
    settings: Settings,
    ari: AriClient,
    actor: Principal,
    data: MeetingIn,
) -> Conference:
    """Persist the meeting and its participants, queue the SMS notices, then call everyone."""
    room = await get_room(session, data.room_id) if data.room_id else None
    organiser = None
    if data.organiser:
        res = await vpmn.resolve_dial(session, caller=data.organiser, dialled=data.organiser)
        if res.member is None:
            raise InvalidInput("organiser: not a member's short number", field="organiser")
        organiser = res.member.short_number
    conf = new_conference(
        actor.tenant_id, room.id if room else None, data.subject, ConferenceState.ACTIVE
    )
    session.add(conf)
    conf.organiser = organiser
    people: list[Participant] = []
    for i, number in enumerate(data.members):
        res = await vpmn.resolve_dial(session, caller=organiser or number, dialled=number)
        if res.action is Action.ANNOUNCE or not res.targets:
            raise InvalidInput(f"members[{i}]: {number!r} cannot be called", field="members")
        # Conference legs go one endpoint at a time (desk, then mobile), whatever the
        # member's ringing strategy: several answered legs for one person would all join.
        targets = [
            {"step": n, "endpoint": t.endpoint, "timeout": t.timeout}
            for n, t in enumerate(sorted(res.targets, key=lambda t: t.step))
        ]
        moderator = res.member is not None and res.member.short_number == organiser
        p = Participant(
            tenant_id=actor.tenant_id,
            conference_id=conf.id,
            number=res.member.short_number if res.member else res.dialled,
            name=res.member.name if res.member else "",
            member_id=res.member.id if res.member else None,
            role=Role.MODERATOR if moderator else Role.PARTICIPANT,
            state=ParticipantState.DIALING,
            dial_out=True,
            targets=targets,
            attempt=1,
        )
        session.add(p)
        people.append(p)
        mobile = res.member.mobile if res.member else res.dialled
        if data.sms_notice and mobile and mobile.startswith("+"):
            text = data.sms_notice
            if room:
                text += f" Dial-in: {room.number}" + (f" / {room.did}" if room.did else "")
                text += f", PIN {room.participant_pin}."
            await messages.queue_message(
                session,
                settings,
                MessageCreate(channel=Channel.SMS, to=mobile, body=text),
                commit=False,
            )
    audit.record(
        session, actor, "conference.start", "conference", conf.id, {"members": data.members}
    )
    await session.commit()
    await ari.bridges.create("mixing", bridge_id=conf.bridge_id)
    if room is not None and room.record:
        conf.recording = await start_recording(ari, conf)
    for p in people:
        try:
            p.channel_id = await originate(ari, p, organiser or "Huitong")
        except AriError as exc:
            log.warning("conference %s: cannot call %s: %s", conf.id, p.number, exc)
            p.state = ParticipantState.FAILED
    await session.commit()
    return conf


async def start_recording(ari: AriClient, conf: Conference) -> str | None:
    """Record the bridge's mix; Asterisk stores it when the bridge is destroyed."""
    name = f"conf-{conf.id.hex}"
    try:
        await ari.bridges.record(conf.bridge_id, name, "wav", if_exists="overwrite")
    except AriError as exc:
        log.warning("conference %s: cannot record: %s", conf.id, exc)
        return None
    return name


# ------------------------------------------------------------------ reading


async def get_conference(session: AsyncSession, conference_id: uuid.UUID) -> Conference:
    conf = await session.get(Conference, conference_id)
    if conf is None:
        raise NotFound("conference not found")
    return conf


async def list_conferences(session: AsyncSession, *, live: bool = False) -> list[Conference]:
    """Newest first; `live` keeps meetings not yet ended (waiting or active)."""
    q = select(Conference).order_by(Conference.started_at.desc()).limit(LIST_LIMIT)
    if live:
        q = q.where(Conference.state != ConferenceState.ENDED)
    return list(await session.scalars(q))


async def participants(session: AsyncSession, conference_id: uuid.UUID) -> list[Participant]:
    await get_conference(session, conference_id)
    q = (
        select(Participant)
        .where(Participant.conference_id == conference_id)
        .order_by(Participant.created_at, Participant.number)
    )
    return list(await session.scalars(q))


async def get_participant(
    session: AsyncSession, conference_id: uuid.UUID, participant_id: uuid.UUID
) -> Participant:
    p = await session.get(Participant, participant_id)
    if p is None or p.conference_id != conference_id:
        raise NotFound("participant not found")
    return p


# ------------------------------------------------------------------ moderator controls


def _live(conf: Conference) -> None:
    if conf.state is ConferenceState.ENDED:
        raise Conflict("conference has ended", field="conference_id")


async def set_muted(
    session: AsyncSession,
    ari: AriClient,
    actor: Principal,
    conference_id: uuid.UUID,
    participant_id: uuid.UUID | None,
    muted: bool,
) -> list[Participant]:
    """Mute (what they say into the room) one participant, or every non-moderator."""
    conf = await get_conference(session, conference_id)
    _live(conf)
    if participant_id is not None:
        targets = [await get_participant(session, conference_id, participant_id)]
        if targets[0].state not in IN_CALL:
            raise Conflict("participant is not in the conference", field="participant_id")
    else:
        targets = [
            p
            for p in await participants(session, conference_id)
            if p.state in IN_CALL and p.role is Role.PARTICIPANT
        ]
    changed = []
    for p in targets:
        if p.channel_id is None or p.muted == muted:
            continue
        try:
            if muted:
                await ari.channels.mute(p.channel_id, "in")
            else:
                await ari.channels.unmute(p.channel_id, "in")
        except AriError as exc:
            log.info("conference %s: mute %s failed: %s", conf.id, p.number, exc)
            continue
        p.muted = muted
        changed.append(p)
        publish(session, ParticipantMuted.topic, ParticipantMuted(**facts(p, utcnow())))
    audit.record(
        session,
        actor,
        "conference.mute" if muted else "conference.unmute",
        "conference",
        conf.id,
        {"participants": [str(p.id) for p in changed]},
    )
    await session.commit()
    return changed


async def remove(
    session: AsyncSession,
    ari: AriClient,
    actor: Principal,
    conference_id: uuid.UUID,
    participant_id: uuid.UUID,
) -> None:
    """Hang up a participant; the Stasis app records them as left."""
    conf = await get_conference(session, conference_id)
    _live(conf)
    p = await get_participant(session, conference_id, participant_id)
    if p.state not in LIVE or p.channel_id is None:
        raise Conflict("participant is not in the conference", field="participant_id")
    audit.record(session, actor, "conference.remove", "conference", conf.id, {"p": str(p.id)})
    await session.commit()
    try:
        await ari.channels.hangup(p.channel_id, "normal")
    except AriError as exc:
        log.info("conference %s: %s already gone: %s", conf.id, p.number, exc)


async def set_locked(
    session: AsyncSession, actor: Principal, conference_id: uuid.UUID, locked: bool
) -> Conference:
    conf = await get_conference(session, conference_id)
    _live(conf)
    conf.locked = locked
    publish(
        session,
        ConferenceLocked.topic,
        ConferenceLocked(conference_id=conf.id, locked=locked, at=utcnow()),
    )
    audit.record(session, actor, "conference.lock", "conference", conf.id, {"locked": locked})
    await session.commit()
    return conf


async def end(
    session: AsyncSession, ari: AriClient, actor: Principal | None, conference_id: uuid.UUID
) -> Conference:
    """End the meeting for everyone: state first, then the bridge and every leg."""
    conf = await get_conference(session, conference_id)
    _live(conf)
    legs = [p.channel_id for p in await participants(session, conf.id) if p.state in LIVE]
    mark_ended(session, conf, "ended by moderator")
    if actor is not None:
        audit.record(session, actor, "conference.end", "conference", conf.id)
    await session.commit()
    for channel_id in legs:
        if channel_id:
            with contextlib.suppress(AriError):  # already gone
                await ari.channels.hangup(channel_id, "normal")
    with contextlib.suppress(AriError):
        await ari.bridges.destroy(conf.bridge_id)
    return conf


def mark_ended(session: AsyncSession, conf: Conference, reason: str) -> None:
    conf.state = ConferenceState.ENDED
    conf.ended_at = utcnow()
    publish(
        session,
        ConferenceEnded.topic,
        ConferenceEnded(
            conference_id=conf.id,
            room_id=conf.room_id,
            reason=reason,
            started_at=conf.started_at,
            ended_at=conf.ended_at,
        ),
    )


def facts(p: Participant, at: datetime) -> dict[str, object]:
    return {
        "conference_id": p.conference_id,
        "participant_id": p.id,
        "number": p.number,
        "role": p.role.value,
        "muted": p.muted,
        "at": at,
    }
