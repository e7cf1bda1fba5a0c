"""Meetings and voicemail in a real Chromium: a supervisor starts a dial-out meeting from
the console, watches the members appear as they answer (ARI simulator, conference pushes),
mutes everyone, ends it; then plays a voicemail from their own mailbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
from browser_kit import chromium, collect_errors, need_browser, shoot, sign_in
from console_testkit import make_person
from meeting_kit import ZHANG_MOBILE, conf_stasis, leave_message, setup_members

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.ari.spec import AriSpec
from telephony.stasis.app import StasisApp
from telephony.voicemail import service as voicemail

if TYPE_CHECKING:  # playwright may be absent: browser_kit then skips the test
    from playwright.async_api import Dialog

__all__ = ["conf_stasis"]  # the fixture, imported for pytest

DESKS = ("PJSIP/zhang", "PJSIP/li-desk", "PJSIP/wang-desk")


@pytest.fixture
async def sim(ari_spec: AriSpec) -> AsyncIterator[AriSimulator]:
    """Real-time ARI seconds: the desks ring (15 s) until the test answers them."""
    async with AriSimulator(spec=ari_spec) as simulator:
        yield simulator
        assert simulator.violations == []


def leg(sim: AriSimulator, endpoint: str) -> str | None:
    return next((c.id for c in sim.channels.values() if c.endpoint == endpoint), None)


async def test_a_supervisor_runs_a_meeting_live_and_plays_a_voicemail_in_the_console(
    hub: Hub,
    sim: AriSimulator,
    conf_stasis: StasisApp,
    bus_pump: None,
    base_url: str,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
) -> None:
    need_browser()
    members = await setup_members(hub, tenant.id)
    # The supervisor is member 6001 (张伟): same mobile number, so 6001's mailbox is theirs.
    boss = await make_person(client, tenant, "supervisor", "zhang", mobile=ZHANG_MOBILE)
    message = await leave_message(hub, tenant.id, members["6001"], "+8613700000000")
    for desk in DESKS:
        sim.endpoints[desk] = EndpointBehaviour(outcome="ring")

    async with chromium() as browser:
        page = await browser.new_page()
        errors = collect_errors(page)
        page.on("dialog", lambda d: asyncio.ensure_future(accept(d)))
        await sign_in(page, base_url, boss.email, boss.password)
        await page.click("button[data-tab=meetings]")
        await page.fill("#meeting-members", "6001 6999")
        await page.click("#meeting-form button[type=submit]")
        await page.wait_for_selector("#meeting-error:has-text('members')")
        assert "6999" in (await page.text_content("#meeting-error") or "")
        await page.fill("#meeting-members", "6001, 6002 8003")
        await page.fill("#meeting-organiser", "6001")
        await page.fill("#meeting-subject", "Weekly sales")
        await page.click("#meeting-form button[type=submit]")
        await page.wait_for_selector("#meetings li:has-text('Weekly sales')")
        rows = "#participants tr[data-participant]"
        await page.wait_for_function(
            f'document.querySelectorAll("{rows}[data-state=dialing]").length === 3'
        )
        await shoot(page, "meeting-01-dialing")

        # Each member picks up; the page learns it only from the conference pushes.
        for desk in DESKS:
            async with asyncio.timeout(10):
                await sim.wait_until(lambda d=desk: leg(sim, d) is not None)  # type: ignore[misc]
            channel = leg(sim, desk)
            assert channel is not None
            sim.remote_answer(channel)
        await page.wait_for_function(
            f'document.querySelectorAll("{rows}[data-state=joined]").length === 3', timeout=15000
        )
        assert "张伟" in (await page.text_content(f"{rows}:has-text('6001')") or "")
        await shoot(page, "meeting-02-joined")

        await page.click("#meeting-mute-all")
        # Everyone but the moderator (the organiser, 6001) is muted, on screen and on ARI.
        await page.wait_for_function(
            f'document.querySelectorAll("{rows}[data-muted=true]").length === 2'
        )
        assert await page.get_attribute(f"{rows}:has-text('6001')", "data-muted") == "false"
        muted = {c.endpoint for c in sim.channels.values() if c.muted == "in"}
        assert muted == {"PJSIP/li-desk", "PJSIP/wang-desk"}
        await shoot(page, "meeting-03-muted")

        await page.click("#meeting-end")
        await page.wait_for_selector("#meeting-state[data-state=ended]")
        async with asyncio.timeout(10):
            await sim.wait_until(lambda: not sim.channels and not sim.bridges)
        await page.wait_for_function(
            f'document.querySelectorAll("{rows}[data-state=left]").length === 3', timeout=10000
        )
        await shoot(page, "meeting-04-ended")

        # Voicemail: the supervisor's own mailbox is picked; the audio comes as a blob.
        await page.click("button[data-tab=voicemail]")
        item = f"#voicemails li[data-message='{message.id}']"
        await page.wait_for_selector(f"{item}[data-heard=false]")
        assert await page.input_value("#vm-member") == str(members["6001"].id)
        await page.click(f"{item} .vm-play")
        await page.wait_for_selector(f"{item}[data-heard=true]")
        await page.wait_for_function(
            "(() => { const a = document.querySelector('#vm-audio');"
            " return a.src.startsWith('blob:') && a.duration > 0.4 && (!a.paused || a.ended); })()"
        )
        await shoot(page, "voicemail-01-played")
        await page.click(f"{item} .vm-delete")
        await page.wait_for_selector("#voicemails li:has-text('No messages')")
        assert errors == []

    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert (
            await voicemail.list_messages(s, Principal.system(tenant.id), members["6001"].id) == []
        )


async def accept(dialog: Dialog) -> None:
    await dialog.accept()
