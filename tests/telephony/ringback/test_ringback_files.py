"""Uploaded tones land in Asterisk's sounds directory (atomically) and leave it on delete."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from ringback_audio_samples import wav

from hubtest import TenantCtx


async def upload(client: httpx.AsyncClient, tenant: TenantCtx, name: str) -> httpx.Response:
    return await client.post(
        "/api/v1/ringback/tones",
        params={"name": name},
        content=wav(1.0, rate=16000),
        headers={**tenant.auth, "Content-Type": "audio/wav"},
    )


async def test_upload_writes_the_converted_wav_and_delete_removes_it(
    client: httpx.AsyncClient, tenant: TenantCtx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sounds = tmp_path / "sounds"
    monkeypatch.setenv("HUITONG_ASTERISK_SOUNDS_DIR", str(sounds))
    r = await upload(client, tenant, "spring")
    assert r.status_code == 201, r.text
    tone_id = r.json()["id"]
    path = sounds / "huitong" / "ringback" / f"{tone_id}.wav"
    stored = await client.get(f"/api/v1/ringback/tones/{tone_id}/audio", headers=tenant.auth)
    assert path.read_bytes() == stored.content  # the 8 kHz conversion, not the upload
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    r = await client.delete(f"/api/v1/ringback/tones/{tone_id}", headers=tenant.auth)
    assert r.status_code == 204
    assert not path.exists()


async def test_without_a_sounds_dir_nothing_is_written(
    client: httpx.AsyncClient, tenant: TenantCtx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUITONG_ASTERISK_SOUNDS_DIR", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a relative default would land here
    assert (await upload(client, tenant, "plain")).status_code == 201
    assert list(cwd.iterdir()) == []


async def test_an_unwritable_sounds_dir_refuses_the_upload_and_stores_nothing(
    client: httpx.AsyncClient, tenant: TenantCtx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    monkeypatch.setenv("HUITONG_ASTERISK_SOUNDS_DIR", str(blocker))
    r = await upload(client, tenant, "doomed")
    assert r.status_code == 422
    assert r.json()["field"] == "audio"
    listed = await client.get("/api/v1/ringback/tones", headers=tenant.auth)
    assert listed.json() == []
