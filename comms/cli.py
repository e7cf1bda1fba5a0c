"""The `huitong` command: serve, init, migrate, worker."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import traceback
from typing import Any

import click

from comms.errors import Conflict
from comms.settings import Settings


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def _migrate(settings: Settings) -> None:
    from comms.db.migrate import upgrade
    from comms.modules import discover_modules

    upgrade(settings.database_url, discover_modules(settings.extra_modules))


def _migrate_apart(settings: Settings) -> None:
    """Migrate in a forked child, so Alembic, Mako and the migration scripts (~9 MB, used
    once) never load into the long-running API process; a failure still exits 1."""
    if not hasattr(os, "fork"):
        _migrate(settings)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        code = 0
        try:
            _migrate(settings)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(1)


@click.group(help="Huitong (汇通): the communications hub. Settings come from HUITONG_* vars.")
def main() -> None:
    pass


@main.command(help="Apply every pending schema migration.")
def migrate() -> None:
    settings = _settings()
    _migrate(settings)
    click.echo(f"database up to date: {_safe_url(settings.database_url)}")


@main.command(help="Migrate, then run the API (and, with the embedded broker, the worker).")
@click.option("--host", default=None, help="Overrides HUITONG_HOST.")
@click.option("--port", default=None, type=int, help="Overrides HUITONG_PORT.")
def serve(host: str | None, port: int | None) -> None:
    import uvicorn

    from comms.app import create_app

    settings = _settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    _migrate_apart(settings)
    app = create_app(settings)
    base = f"http://{settings.host}:{settings.port}"
    worker = (
        "in-process (embedded broker)"
        if settings.embedded_broker
        else f"separate: run `huitong worker` ({_safe_url(settings.broker_url)})"
    )
    click.echo(
        f"Huitong API   {base}/api/v1\nAPI docs      {base}/docs\n"
        f"Database      {_safe_url(settings.database_url)}\nWorker        {worker}"
    )
    # No permessage-deflate: console pushes are small JSON, and compressing each one once
    # per socket tripled the fan-out time to 1,000 consoles (bench/RESULTS.md).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws_per_message_deflate=False,
    )


@main.command(help="Create a tenant with its first admin; prints tenant_id and api_key as JSON.")
@click.option("--tenant", "tenant_name", required=True, help="Enterprise name (unique).")
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True)
def init(tenant_name: str, admin_email: str, admin_password: str) -> None:
    from pydantic import ValidationError

    from comms.auth.schemas import UserCreate

    settings = _settings()
    try:
        # The same rules as the users API, so a first admin is no weaker than any other.
        UserCreate(email=admin_email, password=admin_password)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = {"email": "--admin-email", "password": "--admin-password"}[str(first["loc"][0])]
        click.echo(f"error: invalid {option}: {first['msg']}", err=True)
        sys.exit(2)
    if not tenant_name.strip():
        click.echo("error: --tenant must not be empty", err=True)
        sys.exit(2)
    _migrate(settings)
    from comms.bus.loop import run as run_loop

    try:
        out = run_loop(_init(settings, tenant_name, admin_email, admin_password))
    except Conflict as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    click.echo(json.dumps(out))


async def _init(settings: Settings, name: str, email: str, password: str) -> dict[str, Any]:
    from comms.hub import Hub
    from comms.tenants.service import create_tenant

    hub = Hub(settings)
    try:
        async with hub.db.session() as s:
            new = await create_tenant(s, hub.credentials, name, email, password)
        return {"tenant_id": str(new.tenant.id), "api_key": new.api_key_secret}
    finally:
        await hub.db.dispose()


@main.command(help="Run a Celery worker (and the outbox relay) for a production broker.")
@click.option("--concurrency", default=None, type=int, help="Overrides HUITONG_WORKER_CONCURRENCY.")
@click.option("--pool", default="prefork", type=click.Choice(["prefork", "solo", "threads"]))
def worker(concurrency: int | None, pool: str) -> None:
    from celery.signals import celeryd_after_setup

    from comms.bus.tasks import QUEUE
    from comms.hub import Hub

    settings = _settings()
    if settings.embedded_broker:
        click.echo(
            "error: HUITONG_BROKER_URL is memory:// (embedded); `huitong serve` already "
            "runs the worker. Set a redis:// or amqp:// broker for a separate worker.",
            err=True,
        )
        sys.exit(2)
    hub = Hub(settings)
    if settings.bus_relay:
        hub.start_relay_in_background()
    hub.celery.set_default()  # pool processes look tasks up on the default app
    celeryd_after_setup.connect(_freeze_before_fork, weak=False, dispatch_uid="huitong-freeze")
    hub.celery.Worker(
        concurrency=concurrency or settings.worker_concurrency,
        pool=pool,
        queues=[QUEUE],
        loglevel=settings.log_level.upper(),
        without_gossip=True,
        without_mingle=True,
    ).start()


def _freeze_before_fork(**_: Any) -> None:
    """Keep the start-up heap shared with the prefork children (runs just before the fork).

    A collection in a child writes to the header of every object it walks, so each page
    it shares with the parent became the child's own copy: 30-100 MB per child. Frozen
    objects are never walked (bench/RESULTS.md, SMS campaign memory).
    """
    gc.collect()
    gc.freeze()


def _safe_url(url: str) -> str:
    """A URL with its password hidden, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _add_module_commands() -> None:
    """Sub-commands that installed packages contribute (`Module.commands`)."""
    from comms.modules import discover_modules

    try:
        modules = discover_modules(Settings().extra_modules)
    except Exception as exc:  # a broken plug-in must not take the core commands down
        logging.getLogger(__name__).warning("module commands not loaded: %s", exc)
        return
    for module in modules:
        for command in module.commands:
            main.add_command(command)


_add_module_commands()

if __name__ == "__main__":
    main()
