"""Small audio files built in memory for upload tests."""

from __future__ import annotations

import io
import wave


def wav(seconds: float = 1.0, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x00\x01" * (width // 2) * channels * int(rate * seconds))
    return out.getvalue()


def mp3(frames: int = 100) -> bytes:
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo frames (silent payload)."""
    header = bytes([0xFF, 0xFB, 0x90, 0x44])
    length = 144 * 128000 // 44100  # 417 bytes, no padding
    frame = header + b"\x00" * (length - 4)
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    return id3 + frame * frames
