"""`huitong ari`: run the Stasis app as its own process, one per Asterisk."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

import click

from comms.hub import Hub
from comms.settings import Settings
from telephony.ari import AriClient
from telephony.conference.stasis import ConferenceFlows
from telephony.ringback.service import ringback_lookup
from telephony.settings import TelephonySettings
from telephony.stasis.app import StasisApp


def freeze_startup_heap() -> None:
    """Move everything built at start-up out of the collector's sight (gc.freeze).

    A full collection walks every object the process holds (modules, SQLAlchemy mappers,
    pydantic schemas): measured stalls of 100-300 ms that hit the calls arriving meanwhile
    (bench/RESULTS.md, ARI section). Frozen, only objects made for calls are walked.
    """
    gc.collect()
    gc.freeze()


async def run_stasis(settings: Settings, telephony: TelephonySettings) -> None:
    """Connect to ARI and drive calls until SIGINT/SIGTERM."""
    hub = Hub(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with AriClient(telephony.ari_base_url, telephony.ari_app) as ari:
            conference = ConferenceFlows(
                ari,
                hub.db,
                max_attempts=telephony.conference_dial_attempts,
                retry_delay=telephony.conference_retry_delay,
            )
            app = StasisApp(
                ari,
                hub.db,
                ringback=ringback_lookup,
                click_poll_interval=telephony.ari_click_poll_interval,
                queries=hub.queries,
                queue_tick=telephony.cc_tick_seconds,
                settings=settings,
                conference=conference,
                voicemail_number=telephony.voicemail_number,
                voicemail_max_seconds=telephony.voicemail_max_seconds,
            )
            await app.start()
            freeze_startup_heap()
            try:
                await stop.wait()
            finally:
                await app.close()
    finally:
        await hub.stop()


@click.command("ari", help="Run the ARI Stasis app (HUITONG_ARI_URL, HUITONG_ARI_APP).")
def ari_command() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level)
    asyncio.run(run_stasis(settings, TelephonySettings()))
