"""MO (mobile-originated) deliver_sm: decode the text and reassemble multipart messages.

Concatenation info comes either in a UDH (esm_class UDHI, 8- or 16-bit reference; parsed by
the encoding module) or in the SAR TLVs (sar_msg_ref_num / sar_total_segments /
sar_segment_seqnum), which some SMSCs use instead. Parts are joined as bytes and decoded once,
so a UCS-2 surrogate pair or GSM escape split across parts survives.

Partial messages wait in a bounded buffer: when it is full the oldest is pushed out, and a
message still incomplete after the timeout is given to the sink with what arrived, gaps shown
as "[…]": a customer's message with one part lost beats no message. Parts are acknowledged to
the SMSC as they are buffered, so a process restart loses partial messages.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from comms.channels.sms.encoding import Fragment, decode_gsm7, parse_concat
from comms.channels.sms.provider import InboundSms
from comms.channels.sms.smpp_pdu import DeliverSm

TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
GAP = "[…]"

# SMPP data_coding 0x01-0x07 are SMPP's own; the rest follow GSM 03.38 DCS groups.
_CODECS = {0x01: "ascii", 0x03: "latin-1", 0x06: "iso8859_5", 0x07: "iso8859_8"}


def decode_text(data: bytes, data_coding: int) -> str:
    """Text of an MO payload; never raises (replacement characters for what cannot decode)."""
    if data_coding in _CODECS:
        return data.decode(_CODECS[data_coding], "replace")
    alphabet = "8bit"
    if data_coding == 0x00:
        alphabet = "gsm"
    elif data_coding == 0x08:
        alphabet = "ucs2"
    elif 0x10 <= data_coding <= 0x3F:  # general coding group: bits 3-2 select the alphabet
        alphabet = {0x00: "gsm", 0x08: "ucs2"}.get(data_coding & 0x0C, "8bit")
    elif data_coding >= 0xF0:  # data coding / message class group: bit 2 = 8-bit data
        alphabet = "8bit" if data_coding & 0x04 else "gsm"
    elif 0xE0 <= data_coding <= 0xEF:  # message waiting indication, UCS-2 text
        alphabet = "ucs2"
    if alphabet == "ucs2":
        return data.decode("utf-16-be", "replace")
    if alphabet == "gsm":
        try:
            return decode_gsm7(data)
        except ValueError:
            # Octets above 0x7F: this SMSC's "default alphabet" is really Latin-1.
            return data.decode("latin-1")
    return data.decode("latin-1")


def fragment_of(pdu: DeliverSm) -> Fragment:
    """Concatenation info and payload of one MO part; total 1 for an ordinary message."""
    payload = pdu.short_message or pdu.tlvs.get(TLV_MESSAGE_PAYLOAD, b"")
    if pdu.esm_class & 0x40:
        return parse_concat(payload)  # ValueError on a malformed UDH
    ref, total, seq = (
        pdu.tlvs.get(tag)
        for tag in (TLV_SAR_MSG_REF_NUM, TLV_SAR_TOTAL_SEGMENTS, TLV_SAR_SEGMENT_SEQNUM)
    )
    if ref and total and seq:
        frag = Fragment(int.from_bytes(ref, "big"), total[0], seq[0], payload)
        if not 1 <= frag.seq <= frag.total:
            raise ValueError(f"invalid SAR part {frag.seq} of {frag.total}")
        return frag
    return Fragment(0, 1, 1, payload)


def e164(address: str, ton: int) -> str:
    """'+' for international numbers; national and alphanumeric addresses stay as they are."""
    if ton == 1 and address.isdigit():
        return "+" + address
    return address


def inbound_message(provider: str, pdu: DeliverSm, text: str) -> InboundSms:
    return InboundSms(
        provider=provider,
        sender=e164(pdu.source_addr, pdu.source_ton),
        recipient=pdu.dest_addr,
        text=text,
        received_at=datetime.now(UTC),
    )


GroupKey = tuple[str, str, int, int]  # (source, destination, reference, total)


@dataclass
class _Group:
    first: DeliverSm  # addresses and data_coding of the message
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Assembled:
    key: GroupKey
    first: DeliverSm
    text: str
    complete: bool


class Reassembler:
    """Bounded buffer of partial MO messages, oldest first."""

    def __init__(
        self, max_groups: int, timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_groups, self.timeout, self.clock = max(1, max_groups), timeout, clock
        self._groups: OrderedDict[GroupKey, _Group] = OrderedDict()
        self._overflow: list[Assembled] = []

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, pdu: DeliverSm, frag: Fragment) -> Assembled | None:
        """Buffer a part; the whole message once every part is in (call discard() after)."""
        key: GroupKey = (pdu.source_addr, pdu.dest_addr, frag.reference, frag.total)
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= self.max_groups:
                old_key, oldest = self._groups.popitem(last=False)
                self._overflow.append(self._assemble(old_key, oldest, complete=False))
            group = self._groups[key] = _Group(pdu, self.clock())
        # An SMSC re-sends a part whose deliver_sm_resp it missed: the first copy wins.
        group.parts.setdefault(frag.seq, frag.payload)
        if len(group.parts) < frag.total:
            return None
        return self._assemble(key, group, complete=True)

    def discard(self, key: GroupKey) -> None:
        self._groups.pop(key, None)

    def expired(self) -> list[Assembled]:
        """Partial messages that waited too long or were pushed out; removed from the buffer."""
        now = self.clock()
        out, self._overflow = self._overflow, []
        for key in [k for k, g in self._groups.items() if now - g.started >= self.timeout]:
            out.append(self._assemble(key, self._groups.pop(key), complete=False))
        return out

    @staticmethod
    def _assemble(key: GroupKey, group: _Group, *, complete: bool) -> Assembled:
        dc, total = group.first.data_coding, key[3]
        if complete:
            data = b"".join(group.parts[seq] for seq in range(1, total + 1))
            return Assembled(key, group.first, decode_text(data, dc), True)
        pieces = [
            decode_text(group.parts[seq], dc) if seq in group.parts else GAP
            for seq in range(1, total + 1)
        ]
        return Assembled(key, group.first, "".join(pieces), False)
