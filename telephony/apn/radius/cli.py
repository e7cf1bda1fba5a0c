"""`huitong radius`: the RADIUS server as its own process, beside the carrier's gateway link."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from comms.settings import Settings
from telephony.settings import TelephonySettings

log = logging.getLogger(__name__)


async def run(settings: Settings, tsettings: TelephonySettings) -> None:
    from comms.hub import Hub
    from telephony.apn.crypto import SecretBox
    from telephony.apn.radius.server import RadiusServer

    hub = Hub(settings)  # its database carries the topic registry publish() needs
    server = RadiusServer(hub.db, SecretBox(settings.ensure_secret_key()), tsettings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    click.echo(
        f"RADIUS        auth udp/{server.auth_port}, acct udp/{server.acct_port} on "
        f"{tsettings.radius_host}",
        err=True,
    )
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=60)
            except TimeoutError:
                log.info("radius stats %s", server.stats.as_dict())
    finally:
        log.info("radius stats %s", server.stats.as_dict())
        await server.stop()
        await hub.db.dispose()


@click.command(
    "radius", help="Run the RADIUS server (auth + accounting) for devices on private APNs."
)
@click.option("--host", default=None, help="Overrides HUITONG_RADIUS_HOST.")
@click.option("--auth-port", default=None, type=int, help="Overrides HUITONG_RADIUS_AUTH_PORT.")
@click.option("--acct-port", default=None, type=int, help="Overrides HUITONG_RADIUS_ACCT_PORT.")
def radius_command(host: str | None, auth_port: int | None, acct_port: int | None) -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    tsettings = TelephonySettings()
    if host:
        tsettings.radius_host = host
    if auth_port is not None:
        tsettings.radius_auth_port = auth_port
    if acct_port is not None:
        tsettings.radius_acct_port = acct_port
    asyncio.run(run(settings, tsettings))
