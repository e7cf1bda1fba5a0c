"""Tones copied into Asterisk's sounds directory, so `sound:huitong/ringback/<id>` plays.

Writes are atomic (a temporary file in the same directory, then rename): Asterisk may open
the file at any moment for a ringing call and must never read half a WAV.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

SUBDIR = Path("huitong") / "ringback"


def tone_path(sounds_dir: Path, tone_id: uuid.UUID) -> Path:
    return sounds_dir / SUBDIR / f"{tone_id}.wav"


def write_tone(sounds_dir: Path, tone_id: uuid.UUID, wav: bytes) -> Path:
    """Write (or replace) the tone's file atomically; returns its path."""
    target = tone_path(sounds_dir, tone_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(wav)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # Asterisk runs as its own user
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def remove_tone(sounds_dir: Path, tone_id: uuid.UUID) -> None:
    with contextlib.suppress(FileNotFoundError):
        tone_path(sounds_dir, tone_id).unlink()
