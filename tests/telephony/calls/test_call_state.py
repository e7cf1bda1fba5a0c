"""The call state machine refuses moves that make no sense."""

from __future__ import annotations

import pytest

from telephony.calls.state import CallState, IllegalTransition, check_transition


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (CallState.NEW, CallState.RINGING),
        (CallState.NEW, CallState.ANNOUNCING),
        (CallState.RINGING, CallState.ANSWERED),
        (CallState.RINGING, CallState.ENDED),
        (CallState.ANSWERED, CallState.ENDED),
        (CallState.ANNOUNCING, CallState.ENDED),
        (CallState.NEW, CallState.CONNECTING),  # click-to-call: the agent's phone rings
        (CallState.CONNECTING, CallState.RINGING),
        (CallState.CONNECTING, CallState.ENDED),
    ],
)
def test_legal_moves(current: CallState, target: CallState) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (CallState.ENDED, CallState.RINGING),
        (CallState.ANSWERED, CallState.RINGING),
        (CallState.NEW, CallState.ANSWERED),
        (CallState.ANNOUNCING, CallState.ANSWERED),
        (CallState.ENDED, CallState.ENDED),
        (CallState.CONNECTING, CallState.ANSWERED),  # the customer was never dialled
        (CallState.RINGING, CallState.CONNECTING),
    ],
)
def test_illegal_moves_are_refused(current: CallState, target: CallState) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, target)
