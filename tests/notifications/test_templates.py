"""The save-time template check: a variable, attribute or key the topic's payload lacks is
refused naming it, for exact and pattern topics; legitimate templates pass."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest
from pydantic import BaseModel

from comms.bus.topics import EventPayload, TopicRegistry
from comms.errors import InvalidInput
from notifications.schemas import TemplateIn
from notifications.templates import check_template


class Line(BaseModel):
    sku: str
    qty: int


class Shipped(EventPayload):
    topic: ClassVar[str] = "erp.testship.done"

    order_id: uuid.UUID
    customer: Line | None = None
    lines: list[Line]
    tags: dict[str, Line]
    carrier: str
    summary: str


class Cancelled(EventPayload):
    topic: ClassVar[str] = "erp.testship.cancelled"

    order_id: uuid.UUID
    reason: str
    summary: str


TOPICS = TopicRegistry([Shipped, Cancelled])


def check(body: str, topic: str = Shipped.topic, subject: str = "") -> list[str]:
    data = TemplateIn(topic=topic, channel="sms", locale="en", subject=subject, body=body)
    return check_template(TOPICS, data)


@pytest.mark.parametrize(
    "body",
    [
        "{{ carrier|upper }} {{ carrier.upper() }} {{ carrier[:3] }} {{ topic }}",
        "{{ customer.sku }} {{ lines[0].qty + 1 }} {{ tags.express.sku }} {{ order_id }}",
        "{% for l in lines %}{{ l.sku }} x{{ l.qty }}{% endfor %}",
        "{% if customer %}{{ customer.qty / (customer.qty - 1) }}{% endif %}",  # 1 / 0 at trial
        "{{ carrier.nope|default('-') }} {% if lines is defined %}ok{% endif %}",
        # The sandbox refuses it at send, where the notice falls back to the summary.
        "{{ carrier.__class__.__mro__ }}",
    ],
)
def test_templates_using_what_the_payload_has_pass(body: str) -> None:
    assert check(body) == []


@pytest.mark.parametrize(
    ("body", "variable"),
    [
        ("{{ carrier.nope }}", "carrier.nope"),
        ("{{ customer.sku.x.y }}", "customer.sku.x"),
        ("{{ customer.name }}", "customer.name"),
        ("{% for l in lines %}{{ l.price }}{% endfor %}", "lines[0].price"),
        ("{{ tags.express.colour }}", "tags.express.colour"),
        ("{{ quantity }}", "quantity"),
    ],
)
def test_a_missing_variable_attribute_or_key_is_refused_naming_field_and_variable(
    body: str, variable: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(body)
    assert caught.value.field == "body"
    assert f"{variable!r}" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        check("ok", subject=body)
    assert caught.value.field == "subject"
    assert f"{variable!r}" in caught.value.message


def test_a_pattern_topic_is_checked_against_the_fields_every_match_has() -> None:
    assert check("{{ summary|upper }} {{ order_id }} {{ topic }}", topic="erp.testship.*") == []
    with pytest.raises(InvalidInput) as caught:
        check("{{ carrier }}", topic="erp.testship.*")  # Cancelled has no carrier
    assert caught.value.field == "body" and "'carrier'" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        check("{{ summary.nope }}", topic="erp.testship.*")
    assert "'summary.nope'" in caught.value.message


def test_a_topic_no_registered_payload_matches_is_accepted_unchecked_with_a_warning() -> None:
    for topic in ("erp.invoice.overdue", "erp.invoice.*"):
        [warning] = check("{{ x.y.z }}", topic=topic)
        assert "not checked" in warning
