"""The device-session state machine: started → updating → stopped, nothing after stopped."""

from __future__ import annotations

from datetime import datetime

from comms.errors import Conflict
from telephony.apn.models import DeviceSession, SessionState

S = SessionState
ALLOWED: dict[SessionState, frozenset[SessionState]] = {
    S.STARTED: frozenset({S.UPDATING, S.STOPPED}),
    S.UPDATING: frozenset({S.UPDATING, S.STOPPED}),
    S.STOPPED: frozenset(),
}


class IllegalTransition(Conflict):
    """A session asked to move where its state machine does not go (e.g. after stopped)."""


def can_move(current: SessionState, to: SessionState) -> bool:
    return to in ALLOWED[current]


def move(row: DeviceSession, to: SessionState, at: datetime) -> None:
    """Perform one transition, refusing illegal ones; stamps the time it happened."""
    if not can_move(row.state, to):
        raise IllegalTransition(f"session {row.id} cannot go from {row.state} to {to}")
    row.state = to
    row.updated_at = at
    if to is S.STOPPED:
        row.stopped_at = at
