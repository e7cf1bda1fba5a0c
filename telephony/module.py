"""How `telephony` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module, Periodic
from telephony.apn.api import router as apn_router
from telephony.apn.device_api import router as device_router
from telephony.apn.events import TOPICS as APN_TOPICS
from telephony.apn.handlers import subs as apn_subscribers
from telephony.apn.radius.cli import radius_command
from telephony.apn.ws import router as device_ws_router
from telephony.callcentre.api import router as callcentre_router
from telephony.callcentre.events import TOPICS as CALLCENTRE_TOPICS
from telephony.callcentre.service import agent_webrtc
from telephony.calls.api import router as calls_router
from telephony.calls.events import TOPICS as CALL_TOPICS
from telephony.conference.api import router as conference_router
from telephony.conference.events import TOPICS as CONFERENCE_TOPICS
from telephony.console.api import page as console_page
from telephony.console.api import router as console_router
from telephony.console.conference_push import subs as conference_push_subscribers
from telephony.console.handlers import subs as console_subscribers
from telephony.console.ws import router as console_ws_router
from telephony.ivr.api import router as ivr_router
from telephony.ivr.media import router as ivr_media_router
from telephony.ivr.webhooks import router as ivr_webhooks_router
from telephony.ringback.api import router as ringback_router
from telephony.stasis.cli import ari_command
from telephony.voicemail.api import router as voicemail_router
from telephony.voicemail.events import TOPICS as VOICEMAIL_TOPICS
from telephony.voicemail.tasks import purge_once, voicemail_purge
from telephony.vpmn.api import router as vpmn_router

module = Module(
    name="telephony",
    routers=(
        apn_router,
        device_router,
        device_ws_router,
        vpmn_router,
        calls_router,
        ringback_router,
        ivr_router,
        ivr_webhooks_router,
        ivr_media_router,
        console_page,
        console_router,
        console_ws_router,
        callcentre_router,
        voicemail_router,
        conference_router,
    ),
    topics=(
        *APN_TOPICS,
        *CALL_TOPICS,
        *CALLCENTRE_TOPICS,
        *VOICEMAIL_TOPICS,
        *CONFERENCE_TOPICS,
    ),
    subscribers=(*apn_subscribers, *console_subscribers, *conference_push_subscribers),
    models="telephony.models",
    migrations="telephony:migrations/versions",
    depends_on=("comms",),
    commands=(radius_command, ari_command, voicemail_purge),
    periodic=(Periodic("voicemail-purge", 3600.0, purge_once),),
    queries={"telephony.agent_webrtc": agent_webrtc},
)
