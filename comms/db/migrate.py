"""Schema migrations: Alembic, one version branch per installed package, `upgrade heads`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config

from comms.modules import Module

SCRIPT_LOCATION = "comms.db:migrations"


def resolve_location(location: str) -> str:
    package, _, sub = location.partition(":")
    return str(Path(str(files(package))) / sub)


def alembic_config(url: str, modules: Sequence[Module]) -> Config:
    for m in modules:
        m.load_models()
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option(
        "version_locations",
        os.pathsep.join(resolve_location(m.migrations) for m in modules if m.migrations),
    )
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, modules: Sequence[Module], revision: str = "heads") -> None:
    """Bring the database at `url` up to date (synchronous; call before the loop starts or in a
    thread)."""
    command.upgrade(alembic_config(url, modules), revision)


def current_heads(url: str, modules: Sequence[Module]) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url, modules)).get_heads())
