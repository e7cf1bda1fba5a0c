"""Tone uploads: WAV and MP3 are recognised and timed; anything else is refused."""

from __future__ import annotations

import pytest
from ringback_audio_samples import mp3, wav

from telephony.ringback import audio


def test_asterisk_format_wav_is_ready_as_is() -> None:
    data = wav(2.5)
    info = audio.probe(data)
    assert (info.format, info.duration, info.asterisk_ready) == ("wav", 2.5, True)
    assert audio.to_asterisk_wav(data, info) is data


def test_cd_quality_wav_needs_conversion() -> None:
    info = audio.probe(wav(1.0, rate=44100, channels=2))
    assert (info.sample_rate, info.channels, info.asterisk_ready) == (44100, 2, False)


def test_mp3_duration_is_read_from_its_frames() -> None:
    info = audio.probe(mp3(100))
    assert info.format == "mp3" and info.duration == pytest.approx(100 * 1152 / 44100, abs=0.01)


@pytest.mark.parametrize(
    "data", [b"", b"hello world", b"RIFF\x00\x00\x00\x00WAVEjunk", b"\xff\xfb\x00\x00" * 3]
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(audio.AudioError):
        audio.probe(data)


def test_without_sox_or_ffmpeg_an_mp3_cannot_be_made_playable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audio, "converter", lambda: None)
    data = mp3()
    with pytest.raises(audio.AudioError, match="sox nor ffmpeg"):
        audio.to_asterisk_wav(data, audio.probe(data))


@pytest.mark.skipif(audio.converter() is None, reason="neither sox nor ffmpeg installed")
def test_converter_turns_cd_wav_into_asterisk_wav() -> None:
    data = wav(1.0, rate=44100, channels=2)
    out = audio.to_asterisk_wav(data, audio.probe(data))
    assert audio.probe(out).asterisk_ready
