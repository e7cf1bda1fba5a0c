"""Built-in rules and texts, so a new tenant hears of what must not go unnoticed.

A default rule applies to its topic only while the tenant has no rule of its own on that exact
topic: any tenant rule there, even a disabled one, replaces it (no double notice, and a
disabled rule is how a tenant switches the default off). A default text serves a (topic,
locale) only while the tenant has no template for that topic and channel. Plain data here:
rules.py and templates.py consult it where they look up the tenant's own rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notifications.models import NoticeChannel, Urgency


@dataclass(frozen=True)
class DefaultRule:
    """A rule as the tenant could have written it, with no row: its notices have no rule_id."""

    topic: str
    recipients: list[dict[str, Any]]
    channels: list[str]
    urgency: Urgency = Urgency.NORMAL
    escalate_after_minutes: int = 10
    conditions: list[dict[str, Any]] = field(default_factory=list)


ESCALATED = "crm.ticket.escalated"

DEFAULT_RULES: tuple[DefaultRule, ...] = (
    # crm.tickets publishes `notify_role` ("supervisor") with every escalation: a ticket past
    # its SLA target must reach a supervisor even where nobody has set up notifications yet.
    DefaultRule(
        topic=ESCALATED,
        recipients=[{"kind": "payload_role", "value": "notify_role"}],
        channels=[NoticeChannel.CONSOLE, NoticeChannel.SMS, NoticeChannel.EMAIL],
        urgency=Urgency.URGENT,
    ),
)

_REASON_ZH = "{{ '首次响应' if reason == 'first_response' else '解决' }}"
_REASON_EN = "{{ 'first response' if reason == 'first_response' else 'resolution' }}"
_DUE = "{{ due[:16] | replace('T', ' ') }} UTC"
_REF = "{{ ticket_id[:8] }}"

# (topic, locale) -> (subject, body), Jinja2 rendered like a tenant's template.
DEFAULT_TEXTS: dict[tuple[str, str], tuple[str, str]] = {
    (ESCALATED, "zh-CN"): (
        "工单已升级：{{ subject or ticket_id[:8] }}",
        "工单 " + _REF + "「{{ subject }}」已超过" + _REASON_ZH + "时限（" + _DUE + "），"
        "优先级由 {{ previous_priority }} 升为 {{ priority }}"
        "{% if team %}，团队 {{ team }}{% endif %}。",
    ),
    (ESCALATED, "en"): (
        "Ticket escalated: {{ subject or ticket_id[:8] }}",
        "Ticket " + _REF + ' "{{ subject }}" missed its ' + _REASON_EN + " target (" + _DUE + "); "
        "priority raised from {{ previous_priority }} to {{ priority }}"
        "{% if team %}, team {{ team }}{% endif %}.",
    ),
}


def text_for(topic: str, locale: str) -> tuple[str, str] | None:
    """The built-in (subject, body) in `locale`, else in another locale, else None."""
    found = DEFAULT_TEXTS.get((topic, locale))
    if found is not None:
        return found
    return next((v for (t, _), v in DEFAULT_TEXTS.items() if t == topic), None)
