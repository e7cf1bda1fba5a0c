"""SMPP 3.4 PDUs: aiosmpplib's codec encodes everything we send; we frame and read what arrives.

What we send (bind_transceiver, submit_sm, enquire_link, unbind and every *_resp /
generic_nack) is built by aiosmpplib's PDU classes. Two things on the receive side are ours,
because aiosmpplib's versions lose or refuse data an SMSC legitimately sends (checked against
aiosmpplib 0.7.4):

- the 16-byte header: its PduHeader parser raises ValueError on any command_status it has no
  enum member for, i.e. every vendor-specific code (0x400-0x4FF) a carrier answers with;
- the deliver_sm body: DeliverSm.from_pdu decodes short_message to text per part (a UCS-2
  surrogate pair or GSM escape split across parts is then unrecoverable, while udh.reassemble
  wants the raw bytes), reads a 16-bit concatenation reference as 32 bits, assumes the
  concatenation element comes first in the UDH, raises on data_coding values it has no codec
  for (0xF0-class GSM DCS) and on binary TLVs such as network_error_code.
So deliver_sm is parsed here into raw fields and raw TLV bytes; text decoding happens after
reassembly (smpp_inbound) and receipt parsing in smpp_receipts.
"""

from __future__ import annotations

import asyncio
import enum
import struct
from dataclasses import dataclass, field
from typing import Any

from aiosmpplib import (  # type: ignore[import-untyped]  # ships no py.typed marker
    NPI,
    TON,
    BindTransceiver,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PhoneNumber,
    SmppCommandStatus,
    SubmitSm,
    Unbind,
    UnbindResp,
)

from comms.channels.sms.encoding import Part

HEADER = struct.Struct("!IIII")  # command_length, command_id, command_status, sequence_number
MAX_PDU = 70_000  # message_payload may carry 64 KiB; anything larger is a framing error


class Cmd(enum.IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    ALERT_NOTIFICATION = 0x00000102


RESPONSE_BIT = 0x80000000


class PduError(ValueError):
    """The peer sent bytes that are not a well-formed SMPP PDU."""


@dataclass(frozen=True, slots=True)
class Header:
    length: int
    command_id: int
    status: int
    sequence: int

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


async def read_pdu(reader: asyncio.StreamReader) -> tuple[Header, bytes]:
    """One PDU: header and body. Raises IncompleteReadError at EOF, PduError on garbage."""
    header = Header(*HEADER.unpack(await reader.readexactly(HEADER.size)))
    if not HEADER.size <= header.length <= MAX_PDU:
        raise PduError(f"command_length {header.length} out of range")
    return header, await reader.readexactly(header.length - HEADER.size)


def _bytes(message: Any) -> bytes:
    return bytes(message.pdu())


def _status(status: int) -> Any:
    return SmppCommandStatus(status)


def bind_transceiver(
    seq: int, system_id: str, password: str, system_type: str, addr_ton: int, addr_npi: int
) -> bytes:
    return _bytes(
        BindTransceiver(
            sequence_num=seq,
            system_id=system_id,
            password=password,
            system_type=system_type,
            addr_ton=TON(addr_ton),
            addr_npi=NPI(addr_npi),
        )
    )


@dataclass(frozen=True, slots=True)
class Address:
    number: str
    ton: int
    npi: int


def submit_sm(
    seq: int,
    source: Address,
    dest: Address,
    part: Part,
    *,
    registered_delivery: int,
    service_type: str = "",
) -> bytes:
    """A submit_sm carrying one pre-encoded segment (UDH included) from the encoding module."""
    message = SubmitSm(
        sequence_num=seq,
        short_message=part.text,  # required non-empty by aiosmpplib; the bytes below are sent
        source=PhoneNumber(source.number, TON(source.ton), NPI(source.npi)),
        destination=PhoneNumber(dest.number, TON(dest.ton), NPI(dest.npi)),
        service_type=service_type,
        esm_class=part.esm_class,
        registered_delivery=registered_delivery,
        # aiosmpplib derives data_coding from its codec name; None means 0 (SMSC default).
        encoding="ucs2" if part.data_coding == 0x08 else None,
        auto_message_payload=False,
    )
    message.set_encoded_message(part.short_message)
    return _bytes(message)


def enquire_link(seq: int) -> bytes:
    return _bytes(EnquireLink(sequence_num=seq))


def unbind(seq: int) -> bytes:
    return _bytes(Unbind(sequence_num=seq))


_RESPONSES: dict[int, Any] = {
    Cmd.ENQUIRE_LINK: EnquireLinkResp,
    Cmd.UNBIND: UnbindResp,
    Cmd.DELIVER_SM: DeliverSmResp,
}


def response(request: Header, status: int = 0) -> bytes:
    """The *_resp for a request the SMSC sent us, or generic_nack for one we do not support."""
    cls = _RESPONSES.get(request.command_id, GenericNack)
    if cls is GenericNack and status == 0:
        status = 0x03  # ESME_RINVCMDID
    return _bytes(cls(sequence_num=request.sequence, command_status=_status(status)))


def message_id(body: bytes) -> str:
    """submit_sm_resp body: message_id C-octet string (absent on error responses)."""
    return body.split(b"\x00", 1)[0].decode("ascii", "replace")


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """A deliver_sm with everything as it was on the wire: receipt or MO is decided later."""

    source_addr: str
    source_ton: int
    source_npi: int
    dest_addr: str
    dest_ton: int
    dest_npi: int
    esm_class: int
    protocol_id: int
    data_coding: int
    short_message: bytes
    service_type: str = ""
    tlvs: dict[int, bytes] = field(default_factory=dict)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise PduError("unterminated C-octet string")
        value = self.data[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return value

    def octets(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise PduError("field runs past the end of the PDU")
        value = self.data[self.pos : self.pos + count]
        self.pos += count
        return value

    def u8(self) -> int:
        return self.octets(1)[0]


def parse_deliver_sm(body: bytes) -> DeliverSm:
    """deliver_sm body (SMPP 3.4 §4.6.1): mandatory fields in order, then TLVs as raw bytes."""
    c = _Cursor(body)
    service_type = c.cstring()
    source_ton, source_npi, source_addr = c.u8(), c.u8(), c.cstring()
    dest_ton, dest_npi, dest_addr = c.u8(), c.u8(), c.cstring()
    esm_class, protocol_id, _priority = c.u8(), c.u8(), c.u8()
    c.cstring()  # schedule_delivery_time: always NULL in deliver_sm
    c.cstring()  # validity_period: likewise
    _registered, _replace, data_coding, _default_msg_id = c.u8(), c.u8(), c.u8(), c.u8()
    short_message = c.octets(c.u8())
    tlvs: dict[int, bytes] = {}
    while c.pos < len(body):
        tag, length = struct.unpack("!HH", c.octets(4))
        tlvs[tag] = c.octets(length)
    return DeliverSm(
        source_addr=source_addr,
        source_ton=source_ton,
        source_npi=source_npi,
        dest_addr=dest_addr,
        dest_ton=dest_ton,
        dest_npi=dest_npi,
        esm_class=esm_class,
        protocol_id=protocol_id,
        data_coding=data_coding,
        short_message=short_message,
        service_type=service_type,
        tlvs=tlvs,
    )
