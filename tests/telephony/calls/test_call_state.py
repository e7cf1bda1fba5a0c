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
    ],
)
def test_illegal_moves_are_refused(current: CallState, target: CallState) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, target)
