"""User Data Header (TS 23.040 §9.2.3.24) for concatenated SMS: build outbound, parse inbound.

Inbound fragments should be keyed by (source address, reference, total) while waiting for the
rest: references are per sender, wrap at 255 (8-bit) or 65535 (16-bit), and repeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

IEI_CONCAT_8BIT = 0x00  # concatenated SM, 8-bit reference: IEDL 3 (ref, total, seq)
IEI_CONCAT_16BIT = 0x08  # concatenated SM, 16-bit reference: IEDL 4 (ref hi, ref lo, total, seq)
ESM_CLASS_UDHI = 0x40  # esm_class bit 6: short_message starts with a UDH
MAX_PARTS = 255  # total and seq are single octets


class Fragment(NamedTuple):
    """One inbound part; total == 1 means the UDH carried no concatenation element."""

    reference: int
    total: int
    seq: int
    payload: bytes


class ReassemblyError(ValueError):
    """The fragments do not make up one complete concatenated message."""


def concat_udh(reference: int, total: int, seq: int) -> bytes:
    """The 6-octet UDH `05 00 03 ref total seq` that every part of a concatenated SMS carries."""
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"8-bit concatenation reference must be 0..255, got {reference}")
    if not 2 <= total <= MAX_PARTS:
        raise ValueError(f"a concatenated SMS has 2..{MAX_PARTS} parts, got {total}")
    if not 1 <= seq <= total:
        raise ValueError(f"part number must be 1..{total}, got {seq}")
    return bytes((0x05, IEI_CONCAT_8BIT, 0x03, reference, total, seq))


def parse_concat(short_message: bytes) -> Fragment:
    """Split a UDHI-flagged short_message into its concatenation info and the payload after it.

    Call this only when esm_class has ESM_CLASS_UDHI set; otherwise there is no header to parse.
    Elements other than concatenation (ports, language shift tables...) are skipped.
    """
    if not short_message:
        raise ValueError("short_message is empty but a UDH was expected")
    udhl = short_message[0]
    end = 1 + udhl
    if end > len(short_message):
        raise ValueError(f"UDH length {udhl} runs past the {len(short_message)}-octet message")
    payload = short_message[end:]
    found: Fragment | None = None
    i = 1
    while i < end:
        if i + 2 > end:
            raise ValueError("truncated information element in UDH")
        iei, iedl = short_message[i], short_message[i + 1]
        data = short_message[i + 2 : i + 2 + iedl]
        if len(data) != iedl or i + 2 + iedl > end:
            raise ValueError(f"information element 0x{iei:02X} runs past the UDH")
        if iei == IEI_CONCAT_8BIT and iedl == 3:
            found = Fragment(data[0], data[1], data[2], payload)
        elif iei == IEI_CONCAT_16BIT and iedl == 4:
            found = Fragment(int.from_bytes(data[:2], "big"), data[2], data[3], payload)
        i += 2 + iedl
    if found is None:
        return Fragment(0, 1, 1, payload)
    # TS 23.040 says to ignore an element with seq 0 or seq > total; we refuse it instead so
    # that a broken fragment is not silently delivered as a message of its own.
    if found.total == 0 or not 1 <= found.seq <= found.total:
        raise ValueError(f"invalid concatenation part {found.seq} of {found.total}")
    return found


def reassemble(fragments: Iterable[Fragment]) -> bytes:
    """Join the payloads in seq order; decode the result afterwards, not each part on its own.

    Joining bytes first repairs senders that split a GSM escape pair or a UTF-16 surrogate pair
    across parts. An SMSC re-sends deliver_sm when our response is lost, so an identical
    duplicate is tolerated; a conflicting one is not.
    """
    parts = list(fragments)
    if not parts:
        raise ReassemblyError("no fragments to reassemble")
    reference, total = parts[0].reference, parts[0].total
    by_seq: dict[int, bytes] = {}
    for part in parts:
        if (part.reference, part.total) != (reference, total):
            raise ReassemblyError(
                f"fragment ref {part.reference}/{part.total} parts does not belong to "
                f"ref {reference}/{total} parts"
            )
        seen = by_seq.setdefault(part.seq, part.payload)
        if seen != part.payload:
            raise ReassemblyError(f"two different payloads for part {part.seq} of ref {reference}")
    missing = [seq for seq in range(1, total + 1) if seq not in by_seq]
    if missing:
        raise ReassemblyError(f"ref {reference} is missing part(s) {missing} of {total}")
    return b"".join(by_seq[seq] for seq in range(1, total + 1))
