"""Asterisk REST Interface (ARI): our asyncio client, its spec checks and a test simulator.

The client (`AriClient`) drives calls as a Stasis application; `spec` reads Asterisk's own
Swagger 1.1 description so the client and the simulator can be checked against it.
"""

from telephony.ari.client import AriClient
from telephony.ari.errors import (
    AriBadRequest,
    AriConflict,
    AriConnectionError,
    AriError,
    AriHttpError,
    AriInvalidState,
    AriNotFound,
    AriUnauthorized,
    AriUnprocessable,
)
from telephony.ari.events import ChannelDispatcher, EventListener, ReconnectPolicy, ordering_key
from telephony.ari.spec import AriSpec, SpecNotFoundError, find_spec_dir, load_spec

__all__ = [
    "AriBadRequest",
    "AriClient",
    "AriConflict",
    "AriConnectionError",
    "AriError",
    "AriHttpError",
    "AriInvalidState",
    "AriNotFound",
    "AriSpec",
    "AriUnauthorized",
    "AriUnprocessable",
    "ChannelDispatcher",
    "EventListener",
    "ReconnectPolicy",
    "SpecNotFoundError",
    "find_spec_dir",
    "load_spec",
    "ordering_key",
]
