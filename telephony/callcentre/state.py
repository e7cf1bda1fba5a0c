"""Agent and queue-call state machines: enums, legal moves, one function that checks a move."""

from __future__ import annotations

import enum


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"  # a queue call is offered to the agent's endpoint
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"  # on a break; the reason code is kept on the agent
    NOT_READY = "not_ready"  # an offer rang out: the agent must say they are back


class EntryState(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    CALLBACK_REQUESTED = "callback_requested"


A = AgentState
AGENT_MOVES: dict[AgentState, frozenset[AgentState]] = {
    A.LOGGED_OUT: frozenset({A.AVAILABLE}),
    A.AVAILABLE: frozenset({A.RINGING, A.PAUSED, A.LOGGED_OUT}),
    # Back to available when the caller gave up while the agent's phone rang.
    A.RINGING: frozenset({A.ON_CALL, A.NOT_READY, A.AVAILABLE}),
    A.ON_CALL: frozenset({A.WRAP_UP}),
    A.WRAP_UP: frozenset({A.AVAILABLE, A.PAUSED, A.LOGGED_OUT}),
    A.PAUSED: frozenset({A.AVAILABLE, A.LOGGED_OUT}),
    A.NOT_READY: frozenset({A.AVAILABLE, A.PAUSED, A.LOGGED_OUT}),
}

E = EntryState
ENTRY_MOVES: dict[EntryState, frozenset[EntryState]] = {
    E.WAITING: frozenset({E.OFFERED, E.ABANDONED, E.OVERFLOWED, E.CALLBACK_REQUESTED}),
    # An offer that rang out puts the caller back in line, keeping their place.
    E.OFFERED: frozenset({E.WAITING, E.ANSWERED, E.ABANDONED, E.CALLBACK_REQUESTED}),
    E.ANSWERED: frozenset(),
    E.ABANDONED: frozenset(),
    E.OVERFLOWED: frozenset(),
    # The callback is placed from the same row when an agent is free.
    E.CALLBACK_REQUESTED: frozenset({E.OFFERED, E.ABANDONED}),
}
OPEN_ENTRY = frozenset({E.WAITING, E.OFFERED, E.CALLBACK_REQUESTED})
# Agents that may hold a call or be offered one: counted as staffed.
BUSY = frozenset({A.RINGING, A.ON_CALL, A.WRAP_UP})


class IllegalMove(RuntimeError):
    """A move the machine does not allow; the API answers 409 with this message."""

    def __init__(self, what: str, current: str, target: str) -> None:
        super().__init__(f"{what} cannot go from {current} to {target}")
        self.current = current
        self.target = target


def check_agent_move(current: AgentState, target: AgentState) -> None:
    if target not in AGENT_MOVES[current]:
        raise IllegalMove("agent", current.value, target.value)


def check_entry_move(current: EntryState, target: EntryState) -> None:
    if target not in ENTRY_MOVES[current]:
        raise IllegalMove("queue call", current.value, target.value)
