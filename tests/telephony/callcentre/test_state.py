"""The agent and queue-call state machines refuse illegal moves."""

from __future__ import annotations

import itertools

import pytest

from telephony.callcentre.state import (
    AGENT_MOVES,
    AgentState,
    EntryState,
    IllegalMove,
    check_agent_move,
    check_entry_move,
)


def test_the_agent_lifecycle_is_legal() -> None:
    path = ["logged_out", "available", "ringing", "on_call", "wrap_up", "available", "paused"]
    for here, there in itertools.pairwise(path):
        check_agent_move(AgentState(here), AgentState(there))


@pytest.mark.parametrize(
    ("here", "there"),
    [
        ("logged_out", "on_call"),
        ("paused", "ringing"),
        ("on_call", "available"),  # wrap-up always comes between calls
        ("not_ready", "ringing"),  # an agent who missed a call is not offered another
        ("wrap_up", "ringing"),
    ],
)
def test_illegal_agent_moves_are_refused(here: str, there: str) -> None:
    with pytest.raises(IllegalMove, match=f"agent cannot go from {here} to {there}"):
        check_agent_move(AgentState(here), AgentState(there))


def test_every_agent_state_can_be_left() -> None:
    assert all(AGENT_MOVES[state] for state in AgentState)


def test_closed_queue_calls_stay_closed() -> None:
    for closed in (EntryState.ANSWERED, EntryState.ABANDONED, EntryState.OVERFLOWED):
        with pytest.raises(IllegalMove):
            check_entry_move(closed, EntryState.WAITING)
    check_entry_move(EntryState.OFFERED, EntryState.WAITING)
    check_entry_move(EntryState.CALLBACK_REQUESTED, EntryState.OFFERED)
