"""The call state machine: one enum, one table of legal moves, one function that moves."""

from __future__ import annotations

import enum


class CallState(enum.StrEnum):
    NEW = "new"  # StasisStart seen, not yet routed; click-to-call: requested, not yet placed
    CONNECTING = "connecting"  # click-to-call: the agent's phone rings (customer not dialled)
    ANNOUNCING = "announcing"  # playing a message (unknown number) before hanging up
    RINGING = "ringing"  # callee legs dialled; the caller hears ringback
    ANSWERED = "answered"  # a callee picked up; both legs bridged
    ENDED = "ended"


class LegState(enum.StrEnum):
    RINGING = "ringing"
    UP = "up"
    GONE = "gone"


LEGAL: dict[CallState, frozenset[CallState]] = {
    CallState.NEW: frozenset(
        {CallState.ANNOUNCING, CallState.CONNECTING, CallState.RINGING, CallState.ENDED}
    ),
    CallState.CONNECTING: frozenset({CallState.RINGING, CallState.ENDED}),
    CallState.ANNOUNCING: frozenset({CallState.ENDED}),
    CallState.RINGING: frozenset({CallState.ANSWERED, CallState.ENDED}),
    CallState.ANSWERED: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move the state machine does not allow (a late event for a call already ended...)."""

    def __init__(self, current: CallState, target: CallState) -> None:
        super().__init__(f"call cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def check_transition(current: CallState, target: CallState) -> None:
    """Raise IllegalTransition unless ``current -> target`` is a legal move."""
    if target not in LEGAL[current]:
        raise IllegalTransition(current, target)
