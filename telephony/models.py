"""Every ORM model of telephony, imported so that they all join Base.metadata."""

from telephony.apn.models import (
    Apn,
    ApnChange,
    Device,
    DeviceData,
    DeviceSession,
    Lease,
    NasClient,
)
from telephony.callcentre.models import Agent, AgentTransition, Membership, Queue, QueueCall
from telephony.calls.models import Call, CallLeg, CallTransition
from telephony.conference.models import Conference, Participant, Room
from telephony.ivr.models import Entry, Flow, FlowVersion
from telephony.ringback.models import Rule, Tone
from telephony.voicemail.models import Mailbox, VoicemailMessage
from telephony.vpmn.models import Cdr, Member, NumberingPlan, TariffPlan

__all__ = [
    "Agent",
    "AgentTransition",
    "Apn",
    "ApnChange",
    "Call",
    "CallLeg",
    "CallTransition",
    "Cdr",
    "Conference",
    "Device",
    "DeviceData",
    "DeviceSession",
    "Entry",
    "Flow",
    "FlowVersion",
    "Lease",
    "Mailbox",
    "Member",
    "Membership",
    "NasClient",
    "NumberingPlan",
    "Participant",
    "Queue",
    "QueueCall",
    "Room",
    "Rule",
    "TariffPlan",
    "Tone",
    "VoicemailMessage",
]
