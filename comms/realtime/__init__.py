"""Live pushes to open WebSockets (agent consoles), within one process or across many."""

from comms.realtime.fanout import (
    REALTIME,
    Audience,
    Connection,
    Fanout,
    LocalBackend,
    fanout_of,
)

__all__ = ["REALTIME", "Audience", "Connection", "Fanout", "LocalBackend", "fanout_of"]
