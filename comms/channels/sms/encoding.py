"""SMS encoding choice, length accounting and segmentation, done the way handsets count.

Pure and dependency-free. Two encodings are used: GSM 7-bit when every character fits the
GSM 03.38 alphabet (extension characters cost two septets), else UCS-2, counted in UTF-16 code
units (what every SMSC actually sends), so a character outside the BMP costs two. Segments are
cut on character boundaries, so a GSM escape pair or a surrogate pair is never split.

Empty text: `analyse("")` reports 0 segments (a live counter in a compose box wants that), but
the send-side gates, `check_length` and `build_parts`, raise EmptyMessageError because carriers
reject (or still bill for) an empty short_message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from comms.channels.sms.gsm7 import decode_gsm7, encode_gsm7, is_gsm7, septet_cost, septets
from comms.channels.sms.udh import (
    ESM_CLASS_UDHI,
    MAX_PARTS,
    Fragment,
    ReassemblyError,
    concat_udh,
    parse_concat,
    reassemble,
)

__all__ = [
    "ESM_CLASS_UDHI",
    "EmptyMessageError",
    "Encoding",
    "Fragment",
    "Part",
    "ReassemblyError",
    "SegmentLimitError",
    "SmsInfo",
    "analyse",
    "build_parts",
    "check_length",
    "choose_encoding",
    "decode_gsm7",
    "decode_ucs2",
    "encode",
    "encode_gsm7",
    "encode_ucs2",
    "parse_concat",
    "reassemble",
    "split",
    "with_signature",
]


class Encoding(StrEnum):
    """The two alphabets we send; the value is what API responses report."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"

    @property
    def data_coding(self) -> int:
        """SMPP data_coding: 0x00 is the SMSC default alphabet (GSM), 0x08 is UCS-2."""
        return 0x00 if self is Encoding.GSM7 else 0x08

    @property
    def single_limit(self) -> int:
        """Units that fit one un-concatenated SMS (140 octets of user data)."""
        return 160 if self is Encoding.GSM7 else 70

    @property
    def part_limit(self) -> int:
        """Units per part of a concatenated SMS, after the 6-octet UDH.

        GSM: 6 octets are 48 bits, padded to 7 septets, leaving 153 of 160. UCS-2: 134 octets
        are 67 code units.
        """
        return 153 if self is Encoding.GSM7 else 67


@dataclass(frozen=True, slots=True)
class SmsInfo:
    """What a text costs: for API responses (`segments`, `encoding`) and compose counters."""

    encoding: Encoding
    units: int  # septets for GSM7, UTF-16 code units for UCS2
    segments: int
    capacity: int  # units per segment at this segment count (160/70 single, 153/67 multi)
    remaining: int  # units still free in the last segment


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm worth of message: put these three values straight into the PDU.

    esm_class here holds only the UDHI bit; OR in any messaging-mode bits you need.
    """

    text: str
    short_message: bytes
    esm_class: int
    data_coding: int


class EmptyMessageError(ValueError):
    """Carriers reject an empty body, so we refuse it before it reaches them."""


class SegmentLimitError(ValueError):
    """The text needs more segments than allowed; the API maps this to 422."""

    def __init__(self, info: SmsInfo, max_segments: int) -> None:
        unit = "septets" if info.encoding is Encoding.GSM7 else "UTF-16 code units"
        super().__init__(
            f"body over the configured segment limit: it needs {info.segments} segments "
            f"({info.units} {unit} as {info.encoding.value}) but at most {max_segments} "
            "are allowed"
        )
        self.info = info
        self.max_segments = max_segments


def choose_encoding(text: str) -> Encoding:
    """GSM 7-bit when every character fits (cheaper: 160 vs 70), else UCS-2."""
    return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2


def _resolve(text: str, encoding: Encoding | None) -> Encoding:
    # Forcing UCS2 is for SMSCs whose "default alphabet" (data_coding 0) is really Latin-1 or
    # ASCII rather than GSM; forcing GSM7 on text it cannot carry is a caller bug.
    if encoding is None:
        return choose_encoding(text)
    if encoding is Encoding.GSM7 and not is_gsm7(text):
        raise ValueError("text has characters outside the GSM 7-bit alphabet")
    return encoding


def _cost(ch: str, encoding: Encoding) -> int:
    if encoding is Encoding.UCS2:
        return 2 if ord(ch) > 0xFFFF else 1  # astral characters are a surrogate pair
    cost = septet_cost(ch)
    assert cost is not None  # _resolve checked the whole text already
    return cost


def _pack(text: str, encoding: Encoding) -> tuple[list[str], int, int]:
    """Segments, total units and units used in the last segment."""
    if encoding is Encoding.UCS2:
        # UTF-16 code units are the UCS-2 units (an astral character is a pair of them): most
        # messages fit one segment, and then nothing needs counting character by character
        # (nor for GSM 7-bit, whose septets are the length plus one per extension character).
        total = len(text.encode("utf-16-le", "surrogatepass")) // 2
    else:
        total = septets(text)
    if total <= encoding.single_limit:
        return ([text] if text else []), total, total
    costs = [_cost(ch, encoding) for ch in text]
    limit = encoding.part_limit
    segments: list[str] = []
    start = used = 0
    for i, cost in enumerate(costs):
        # Cut before a character that would not fit whole: a 2-septet escape pair or a
        # 2-unit surrogate pair moves to the next segment, leaving one unit unused.
        if used + cost > limit:
            segments.append(text[start:i])
            start, used = i, 0
        used += cost
    segments.append(text[start:])
    return segments, total, used


def analyse(text: str, *, encoding: Encoding | None = None) -> SmsInfo:
    """Encoding and segment count of a text, computed exactly as the split will cut it."""
    enc = _resolve(text, encoding)
    segments, units, last = _pack(text, enc)
    capacity = enc.single_limit if len(segments) <= 1 else enc.part_limit
    return SmsInfo(enc, units, len(segments), capacity, capacity - last)


def split(text: str, *, encoding: Encoding | None = None) -> list[str]:
    """The text of each segment, in order; "" gives []."""
    return _pack(text, _resolve(text, encoding))[0]


def check_length(text: str, max_segments: int, *, encoding: Encoding | None = None) -> SmsInfo:
    """Gate a body against the tenant's segment limit before it is queued; returns the info."""
    if not 1 <= max_segments <= MAX_PARTS:
        raise ValueError(f"max_segments must be 1..{MAX_PARTS}, got {max_segments}")
    if not text:
        raise EmptyMessageError("body is empty; carriers reject empty messages")
    info = analyse(text, encoding=encoding)
    if info.segments > max_segments:
        raise SegmentLimitError(info, max_segments)
    return info


def with_signature(
    body: str, signature: str, position: Literal["prefix", "suffix"] = "prefix"
) -> str:
    """Add the sender signature Chinese carriers require, e.g. 【某某公司】.

    The signature is part of the message and counts toward its length: analyse the result,
    not the body. A 【】 signature alone turns an all-ASCII body into UCS-2. If the body already
    carries the signature in that position it is returned unchanged, since carriers reject a
    message signed twice.
    """
    if position not in ("prefix", "suffix"):
        raise ValueError(f"position must be 'prefix' or 'suffix', got {position!r}")
    if not signature:
        return body
    if position == "prefix":
        return body if body.startswith(signature) else signature + body
    return body if body.endswith(signature) else body + signature


def encode_ucs2(text: str) -> bytes:
    """UTF-16-BE, which is what SMSCs mean by "UCS-2" (surrogate pairs included)."""
    # Strict: a lone surrogate (e.g. from a bad JSON escape) raises rather than sends garbage.
    return text.encode("utf-16-be")


def decode_ucs2(data: bytes) -> str:
    """Inverse of encode_ucs2; reassemble parts before decoding so split pairs rejoin."""
    if len(data) % 2:
        raise ValueError(f"UCS-2 payload has an odd length ({len(data)} octets)")
    return data.decode("utf-16-be")


def encode(text: str, encoding: Encoding) -> bytes:
    """short_message bytes of a text (without UDH) in the given encoding."""
    return encode_gsm7(text) if encoding is Encoding.GSM7 else encode_ucs2(text)


def build_parts(text: str, reference: int, *, encoding: Encoding | None = None) -> list[Part]:
    """The submit_sm payloads for a text; a single segment has no UDH and esm_class 0x00.

    `reference` (0..255) must differ between concurrent multi-part messages to the same
    handset, or the handset will mix their parts; a per-destination counter is enough.
    """
    if not text:
        raise EmptyMessageError("body is empty; carriers reject empty messages")
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"8-bit concatenation reference must be 0..255, got {reference}")
    enc = _resolve(text, encoding)
    segments = split(text, encoding=enc)
    total = len(segments)
    if total == 1:
        return [Part(text, encode(text, enc), 0x00, enc.data_coding)]
    if total > MAX_PARTS:
        raise SegmentLimitError(analyse(text, encoding=enc), MAX_PARTS)
    return [
        Part(
            seg,
            concat_udh(reference, total, seq) + encode(seg, enc),
            ESM_CLASS_UDHI,
            enc.data_coding,
        )
        for seq, seg in enumerate(segments, start=1)
    ]
