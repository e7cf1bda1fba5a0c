"""The commands a new user meets: huitong init, migrate and serve, as subprocesses."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from hubtest import PYTHON


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    full_env.update(HUITONG_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [PYTHON, "-m", "comms.cli", *args],
        env=full_env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_init_prints_tenant_and_key_and_refuses_a_duplicate(tmp_path: Path) -> None:
    first = run(
        [
            "init",
            "--tenant",
            "Acme",
            "--admin-email",
            "a@acme.cn",
            "--admin-password",
            "secret-123",
        ],
        tmp_path,
    )
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert set(out) == {"tenant_id", "api_key"}
    assert out["api_key"].startswith("hk_")
    assert (tmp_path / "huitong.db").exists()
    again = run(
        [
            "init",
            "--tenant",
            "Acme",
            "--admin-email",
            "b@acme.cn",
            "--admin-password",
            "secret-123",
        ],
        tmp_path,
    )
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert again.stdout == ""


@pytest.mark.slow
def test_init_with_a_bad_email_is_a_clear_error(tmp_path: Path) -> None:
    r = run(
        ["init", "--tenant", "Acme", "--admin-email", "nope", "--admin-password", "secret-123"],
        tmp_path,
    )
    assert r.returncode == 2
    assert "email" in r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_with_no_configuration_runs_the_whole_hub(tmp_path: Path) -> None:
    import os

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env["HUITONG_PORT"] = str(port)
    # No HUITONG_DATA_DIR: the default ./huitong-data under the working directory.
    proc = subprocess.Popen(
        [PYTHON, "-m", "comms.cli", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("huitong serve did not become ready")
        init = run(
            [
                "init",
                "--tenant",
                "Acme",
                "--admin-email",
                "a@acme.cn",
                "--admin-password",
                "secret-123",
            ],
            tmp_path / "huitong-data",
        )
        key = json.loads(init.stdout)["api_key"]
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert (tmp_path / "huitong-data" / "huitong.db").exists()
    assert (tmp_path / "huitong-data" / "secret_key").exists()
    assert f"{base}/docs" in out
    assert "in-process" in out
