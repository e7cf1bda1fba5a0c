"""What the long-running commands load and keep: optional SDKs stay out, and the worker's
start-up heap is frozen before Celery forks its pool."""

from __future__ import annotations

import gc
import subprocess
from typing import Any

import pytest
from celery.signals import celeryd_after_setup
from click.testing import CliRunner

from comms import cli
from hubtest import PYTHON

# Each is used by one command or one provider only (smtp-in, Twilio, Asterisk's REST API).
OPTIONAL = ("twilio", "aiohttp", "requests", "aiosmtpd")


@pytest.mark.slow
def test_a_hub_process_does_not_import_the_optional_sdks() -> None:
    code = (
        "import sys\n"
        "from comms.cli import main\n"
        "from comms.app import create_app\n"
        "from comms.settings import Settings\n"
        "create_app(Settings(secret_key='x' * 32), start_services=False)\n"
        f"print(' '.join(m for m in {OPTIONAL!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == ""


class _Worker:
    def __init__(self, frozen: list[int]) -> None:
        self.frozen = frozen

    def start(self) -> None:
        # What Celery's worker does after its setup, before the Pool step forks children.
        celeryd_after_setup.send(sender="test", instance=self, conf=None)
        self.frozen.append(gc.get_freeze_count())


class _Hub:
    def __init__(self, frozen: list[int]) -> None:
        self.celery = self
        self.frozen = frozen

    def start_relay_in_background(self) -> None:
        pass

    def set_default(self) -> None:
        pass

    def Worker(self, **_: Any) -> _Worker:  # Celery's name
        return _Worker(self.frozen)


def test_worker_freezes_the_start_up_heap_before_the_pool_forks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen: list[int] = []
    monkeypatch.setattr("comms.hub.Hub", lambda settings: _Hub(frozen))
    monkeypatch.setenv("HUITONG_BROKER_URL", "redis://127.0.0.1:6379/15")
    assert gc.get_freeze_count() == 0
    try:
        result = CliRunner().invoke(cli.main, ["worker", "--concurrency", "1"])
        assert result.exit_code == 0, result.output
        assert frozen and frozen[0] > 0
    finally:
        celeryd_after_setup.disconnect(cli._freeze_before_fork, dispatch_uid="huitong-freeze")
        gc.unfreeze()
