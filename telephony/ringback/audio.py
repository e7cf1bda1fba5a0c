"""Audio checks and conversion for ringback tones.

Asterisk plays `.wav` as 8 kHz mono 16-bit signed linear without transcoding cost; anything
else is converted with sox or ffmpeg when one is installed, otherwise refused unless it
already is in that format (MP3 cannot be played by a stock Asterisk without format_mp3).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

ASTERISK_RATE = 8000
MAX_BYTES = 10 * 1024 * 1024
MAX_SECONDS = 300.0

# MPEG-1 Layer III bitrates (kbit/s) and sample rates, by header index.
_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_MP3_RATES = (44100, 48000, 32000, 0)


class AudioError(ValueError):
    """The upload is not a usable WAV or MP3."""


@dataclass(frozen=True)
class AudioInfo:
    format: str  # "wav" or "mp3"
    duration: float
    sample_rate: int
    channels: int
    asterisk_ready: bool  # 8 kHz mono 16-bit WAV


def probe(data: bytes) -> AudioInfo:
    """Validate the upload and read its duration; raises AudioError when it is neither."""
    if len(data) > MAX_BYTES:
        raise AudioError(f"tone larger than {MAX_BYTES // 1024 // 1024} MB")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _probe_wav(data)
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return _probe_mp3(data)
    raise AudioError("not a WAV or MP3 file")


def _probe_wav(data: bytes) -> AudioInfo:
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, channels, width, frames = (
                w.getframerate(),
                w.getnchannels(),
                w.getsampwidth(),
                w.getnframes(),
            )
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"unreadable WAV: {exc}") from None
    if rate <= 0 or frames <= 0:
        raise AudioError("WAV holds no audio")
    duration = frames / rate
    if duration > MAX_SECONDS:
        raise AudioError(f"tone longer than {MAX_SECONDS:.0f} s")
    ready = rate == ASTERISK_RATE and channels == 1 and width == 2
    return AudioInfo("wav", round(duration, 3), rate, channels, ready)


def _probe_mp3(data: bytes) -> AudioInfo:
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        # ID3v2 size is a 28-bit "syncsafe" integer (7 bits per byte).
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        pos = 10 + size
    duration = 0.0
    frames = 0
    rate = channels = 0
    while pos + 4 <= len(data):
        h = int.from_bytes(data[pos : pos + 4], "big")
        if h >> 21 != 0x7FF:
            break
        version, layer = (h >> 19) & 3, (h >> 17) & 3
        bitrate = _MP3_BITRATES[(h >> 12) & 0xF] * 1000
        base_rate = _MP3_RATES[(h >> 10) & 3]
        if layer != 1 or not bitrate or not base_rate or version == 1:
            break
        sample_rate = base_rate if version == 3 else base_rate // (2 if version == 2 else 4)
        samples = 1152 if version == 3 else 576
        padding = (h >> 9) & 1
        length = samples // 8 * bitrate // sample_rate + padding
        if length <= 4:
            break
        rate, channels = sample_rate, 1 if (h >> 6) & 3 == 3 else 2
        duration += samples / sample_rate
        frames += 1
        pos += length
    if frames < 2:
        raise AudioError("no MPEG audio frames found")
    if duration > MAX_SECONDS:
        raise AudioError(f"tone longer than {MAX_SECONDS:.0f} s")
    return AudioInfo("mp3", round(duration, 3), rate, channels, False)


def converter() -> list[str] | None:
    """The command line of an installed converter (sox preferred), or None."""
    if sox := shutil.which("sox"):
        return [sox, "{src}", "-r", str(ASTERISK_RATE), "-c", "1", "-b", "16", "{dst}"]
    if ffmpeg := shutil.which("ffmpeg"):
        return [
            ffmpeg,
            "-loglevel",
            "error",
            "-y",
            "-i",
            "{src}",
            "-ar",
            "8000",
            "-ac",
            "1",
            "-sample_fmt",
            "s16",
            "{dst}",
        ]
    return None


def to_asterisk_wav(data: bytes, info: AudioInfo) -> bytes:
    """The tone as 8 kHz mono 16-bit WAV; AudioError when that needs a converter we lack."""
    if info.asterisk_ready:
        return data
    command = converter()
    if command is None:
        raise AudioError(
            "tone is not 8 kHz mono 16-bit WAV and neither sox nor ffmpeg is installed"
        )
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / f"in.{info.format}", Path(tmp) / "out.wav"
        src.write_bytes(data)
        args = [a.format(src=src, dst=dst) for a in command]
        done = subprocess.run(args, capture_output=True, timeout=60, check=False)  # noqa: S603
        if done.returncode != 0 or not dst.exists():
            raise AudioError(f"conversion failed: {done.stderr.decode(errors='replace')[:200]}")
        return dst.read_bytes()
