"""The notice state machine refuses illegal moves; conditions compare like with like."""

from __future__ import annotations

import pytest

from notifications.models import Notification, NotificationStatus
from notifications.rules import conditions_hold, covered
from notifications.state import FINAL, IllegalTransition, transition


def notice(status: NotificationStatus) -> Notification:
    return Notification(status=status, channels=["console"], channel_index=0)


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_states_refuse_any_further_change(final: NotificationStatus) -> None:
    n = notice(final)
    with pytest.raises(IllegalTransition):
        transition(n, NotificationStatus.SENDING)
    assert n.status is final


def test_an_undelivered_sms_may_fall_back_after_sent_but_a_digest_item_may_not_send() -> None:
    n = notice(NotificationStatus.SENT)
    transition(n, NotificationStatus.SENDING)
    assert n.status is NotificationStatus.SENDING
    with pytest.raises(IllegalTransition):
        transition(notice(NotificationStatus.DIGEST), NotificationStatus.SENDING)


PAYLOAD = {"sku": "A-1", "on_hand": 3, "tags": ["x", "y"], "item": {"name": "螺丝 M3"}}


@pytest.mark.parametrize(
    ("cond", "holds"),
    [
        ({"field": "sku", "op": "eq", "value": "A-1"}, True),
        ({"field": "sku", "op": "ne", "value": "A-1"}, False),
        ({"field": "on_hand", "op": "lt", "value": 5}, True),
        ({"field": "on_hand", "op": "gt", "value": 5}, False),
        ({"field": "on_hand", "op": "gt", "value": "2"}, False),  # number vs string: no match
        ({"field": "sku", "op": "gt", "value": "A-0"}, True),
        ({"field": "tags", "op": "contains", "value": "y"}, True),
        ({"field": "item.name", "op": "contains", "value": "M3"}, True),
        ({"field": "sku", "op": "in", "value": ["B-1", "A-1"]}, True),
        ({"field": "missing", "op": "ne", "value": 1}, False),  # a missing field never holds
    ],
)
def test_condition_operators(cond: dict[str, object], holds: bool) -> None:
    assert conditions_hold([cond], PAYLOAD) is holds


def test_notifiable_coverage_of_rule_topics() -> None:
    assert covered("erp.stock.low") and covered("erp.*") and covered("erp.order.*")
    assert covered("telephony.call.missed") and covered("telephony.queue.*")
    assert not covered("telephony.*")  # would claim call progress topics the handler skips
    assert not covered("telephony.call.ringing") and not covered("*")
