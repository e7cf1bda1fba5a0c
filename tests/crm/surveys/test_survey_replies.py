"""A 1-5 SMS reply within the window scores the latest open survey once, is on the timeline,
is published, and never lands on a ticket; anything else still goes to the tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from comms.messages.models import Channel
from crm.surveys.models import Survey
from crm.surveys.service import parse_score, record_reply
from crm.tickets.models import TicketMessage
from crm_testkit import (
    make_contact,
    make_ticket,
    published,
    receive_sms,
    set_status,
    timeline,
    use_inbound_number,
)
from hubtest import TenantCtx, drain

AGENT = "7d5a1c2e-0000-4000-8000-000000000002"


@pytest.mark.parametrize(
    ("text", "score"),
    [("5", 5), (" 4 ", 4), ("５", 5), ("\u3000３\u3000", 3), ("1。", 1), ("2!", 2)],
)
def test_digits_half_or_full_width_with_blanks_are_scores(text: str, score: int) -> None:
    assert parse_score(text) == score


@pytest.mark.parametrize("text", ["0", "6", "45", "five", "", "5 stars", "1-5", None])
def test_anything_else_is_not_a_score(text: str | None) -> None:
    assert parse_score(text) is None


async def resolved_ticket(
    client: httpx.AsyncClient, t: TenantCtx, phone: str = "13800138000"
) -> tuple[dict[str, Any], dict[str, Any]]:
    await use_inbound_number(client, t)
    c = await make_contact(client, t, phones=[phone])
    ticket = await make_ticket(client, t, c["id"], "no signal", assignee_id=AGENT, team="noc")
    await set_status(client, t, ticket["id"], "resolved")
    return c, ticket


async def tickets(client: httpx.AsyncClient, t: TenantCtx) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/api/v1/crm/tickets", headers=t.auth)).json()[
        "items"
    ]
    return items


async def test_a_full_width_reply_scores_once_and_stays_off_the_tickets(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c, ticket = await resolved_ticket(client, tenant)
    await receive_sms(hub, "+8613800138000", " ５ ", "r-1")
    await receive_sms(hub, "+8613800138000", " ５ ", "r-1")  # the carrier repeats itself
    await receive_sms(hub, "13800138000", "3", "r-2")  # a second score is not kept
    [survey] = (await client.get("/api/v1/crm/surveys", headers=tenant.auth)).json()["items"]
    assert (survey["status"], survey["score"]) == ("answered", 5)
    events = await published(hub, "crm.survey.answered")
    assert [
        (e["ticket_id"], e["contact_id"], e["score"], e["agent_id"], e["team"]) for e in events
    ] == [(ticket["id"], c["id"], 5, AGENT, "noc")]
    after = await tickets(client, tenant)
    assert [(x["id"], x["status"]) for x in after] == [(ticket["id"], "resolved")]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert list(await s.scalars(select(TicketMessage))) == []
    entries = await timeline(client, tenant, c["id"])
    [entry] = [e for e in entries if e["kind"] == "survey"]
    assert entry["ref"] == f"survey:{survey['id']}" and entry["summary"].startswith(
        "satisfaction 5/5"
    )


async def test_a_reply_after_the_window_or_in_words_goes_to_the_tickets(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    _, ticket = await resolved_ticket(client, tenant)
    await receive_sms(hub, "+8613800138000", "thanks, but the bill is wrong", "w-1")
    later = utcnow() + timedelta(hours=73)  # window: HUITONG_CRM_SURVEY_REPLY_HOURS = 72
    await receive_sms(hub, "+8613800138000", "4", "w-2", at=later)
    [survey] = (await client.get("/api/v1/crm/surveys", headers=tenant.auth)).json()["items"]
    assert survey["status"] == "sent" and survey["score"] is None
    assert await published(hub, "crm.survey.answered") == []
    new = [x for x in await tickets(client, tenant) if x["id"] != ticket["id"]]
    assert [x["subject"] for x in new] == ["thanks, but the bill is wrong"]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert len(list(await s.scalars(select(TicketMessage)))) == 2


async def test_the_latest_open_survey_to_the_number_gets_the_score(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c, first = await resolved_ticket(client, tenant)
    second = await make_ticket(client, tenant, c["id"], "slow line")
    await set_status(client, tenant, second["id"], "resolved")
    await receive_sms(hub, "+8613800138000", "2", "l-1")
    await receive_sms(hub, "+8613800138000", "4", "l-2")
    await receive_sms(hub, "+8613800138000", "1", "l-3")  # both answered: ignored
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        rows = {str(x.ticket_id): x.score for x in await s.scalars(select(Survey))}
    assert rows == {second["id"]: 2, first["id"]: 4}
    assert len(await tickets(client, tenant)) == 2


async def test_the_ticket_handler_agrees_when_the_score_was_recorded_first(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    """Deliveries of one event to two subscribers may run in either order."""
    _, ticket = await resolved_ticket(client, tenant)
    sink: MessagingSink = hub.services["messaging.sink"]
    at = utcnow()
    mid = await sink.receive_sms(InboundSms("log", "+8613800138000", "1069000123", "4", at, ["o"]))
    assert mid is not None
    async with hub.db.session() as s:  # the survey subscriber's effect, before any delivery
        scoped_to(s, tenant.id)
        done = await record_reply(
            s, message_id=mid, channel=Channel.SMS, sender="+8613800138000", text="4", at=at
        )
        assert done is not None and done.score == 4
        await s.commit()
    await drain(hub)  # now both subscribers run: survey_reply repeats, inbound_to_ticket skips
    assert [(x["id"], x["status"]) for x in await tickets(client, tenant)] == [
        (ticket["id"], "resolved")
    ]
    assert len(await published(hub, "crm.survey.answered")) == 1
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert list(await s.scalars(select(TicketMessage))) == []
