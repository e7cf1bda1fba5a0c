"""The notice lifecycle as an explicit state machine: one function changes status."""

from __future__ import annotations

from comms.errors import Conflict
from notifications.models import Notification, NotificationStatus

S = NotificationStatus

ALLOWED: dict[NotificationStatus, frozenset[NotificationStatus]] = {
    # held -> read: the console notice whose escalation waits out quiet hours was read.
    S.HELD: frozenset({S.SENDING, S.FAILED, S.READ}),
    S.DIGEST: frozenset({S.DIGESTED}),
    # sending -> sending: the next channel of the fallback order took over.
    # sending -> held: the next channel (console unread, SMS failed) comes due in quiet hours.
    S.SENDING: frozenset({S.SENDING, S.HELD, S.SENT, S.DELIVERED, S.READ, S.FAILED}),
    # sent -> sending: an SMS accepted by the SMSC came back undelivered; fall back.
    # sent -> held: that fallback comes due in the user's quiet hours.
    S.SENT: frozenset({S.SENDING, S.HELD, S.DELIVERED, S.FAILED}),
    S.DELIVERED: frozenset(),
    S.READ: frozenset(),
    S.DIGESTED: frozenset(),
    S.SUPPRESSED: frozenset(),
    S.FAILED: frozenset(),
}

FINAL = frozenset(s for s, nxt in ALLOWED.items() if not nxt)


class IllegalTransition(Conflict):
    """A status change the lifecycle does not allow (e.g. read -> sending)."""


def transition(n: Notification, to: NotificationStatus) -> None:
    if to not in ALLOWED[n.status]:
        raise IllegalTransition(f"notification {n.status.value} cannot become {to.value}")
    n.status = to
