"""MO (mobile-originated) deliver_sm: decode the text and reassemble multipart messages.

Concatenation info comes either in a UDH (esm_class UDHI, 8- or 16-bit reference; parsed by
the encoding module) or in the SAR TLVs (sar_msg_ref_num / sar_total_segments /
sar_segment_seqnum), which some SMSCs use instead. Parts are joined as bytes and decoded once,
so a UCS-2 surrogate pair or GSM escape split across parts survives.

Parts are acknowledged to the SMSC as they arrive, so they are handed to the sink one by one
(`SmsSink.on_inbound_part`), which keeps them durably until the message is whole: a restart
loses no partial message. A message still incomplete after the timeout is delivered with what
arrived, gaps shown as "[…]": a customer's message with one part lost beats no message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from comms.channels.sms.encoding import Fragment, decode_gsm7, parse_concat
from comms.channels.sms.provider import InboundPart, InboundSms
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


def inbound_part(provider: str, pdu: DeliverSm, frag: Fragment, wait: float) -> InboundPart:
    """One part of a multipart MO, for the sink to keep until its message is whole."""
    return InboundPart(
        provider=provider,
        sender=e164(pdu.source_addr, pdu.source_ton),
        recipient=pdu.dest_addr,
        reference=frag.reference,
        total=frag.total,
        seq=frag.seq,
        payload=frag.payload,
        data_coding=pdu.data_coding,
        received_at=datetime.now(UTC),
        wait=wait,
    )


def assemble(parts: Mapping[int, bytes], total: int, data_coding: int) -> tuple[str, bool]:
    """The text of a multipart MO from the parts that arrived, and whether it is whole.

    A whole message is joined as bytes and decoded once; an incomplete one is decoded part
    by part with the missing parts shown as GAP."""
    if all(seq in parts for seq in range(1, total + 1)):
        return decode_text(b"".join(parts[seq] for seq in range(1, total + 1)), data_coding), True
    pieces = [
        decode_text(parts[seq], data_coding) if seq in parts else GAP for seq in range(1, total + 1)
    ]
    return "".join(pieces), False
