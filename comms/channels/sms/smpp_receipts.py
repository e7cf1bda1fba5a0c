"""Delivery receipts in deliver_sm: telling them from MO, and reading id, state and error.

SMSCs report in two ways, often both at once: the SMPP 3.4 TLVs (receipted_message_id,
message_state, network_error_code) and the de-facto text format from SMPP 3.4 Appendix B,
"id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E
text:...". The TLVs win when present (they are typed); the text fills in whatever they lack.

State mapping (stat text / message_state TLV -> ReceiptState):

    DELIVRD / 2 DELIVERED      delivered
    UNDELIV / 5 UNDELIVERABLE  undelivered
    EXPIRED / 3 EXPIRED        expired
    REJECTD / 8 REJECTED       rejected
    DELETED / 4 DELETED        undelivered: cancelled or purged by the SMSC, never reached the
                               handset, but not a refusal of the content or destination
    ACCEPTD / 6 ACCEPTED       accepted: "read on behalf of the subscriber" by carrier staff is
                               not a delivery, so it stays non-final for the sink
    ENROUTE / 1 ENROUTE        accepted (intermediate notification)
    UNKNOWN / 7 UNKNOWN        unknown; so is any stat we do not recognise
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

from comms.channels.sms.provider import DeliveryReceipt, ReceiptState
from comms.channels.sms.smpp_ids import IdNormaliser
from comms.channels.sms.smpp_pdu import DeliverSm

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424

# esm_class bits 5..2 = message type (SMPP 3.4 §5.2.12).
_TYPE_MASK = 0x3C
_SMSC_RECEIPT = 0x04
_INTERMEDIATE = 0x20

STAT_STATES: dict[str, ReceiptState] = {
    "DELIVRD": ReceiptState.DELIVERED,
    "DELIVERED": ReceiptState.DELIVERED,
    "UNDELIV": ReceiptState.UNDELIVERED,
    "UNDELIVERABLE": ReceiptState.UNDELIVERED,
    "EXPIRED": ReceiptState.EXPIRED,
    "REJECTD": ReceiptState.REJECTED,
    "REJECTED": ReceiptState.REJECTED,
    "DELETED": ReceiptState.UNDELIVERED,
    "ACCEPTD": ReceiptState.ACCEPTED,
    "ACCEPTED": ReceiptState.ACCEPTED,
    "ENROUTE": ReceiptState.ACCEPTED,
    "UNKNOWN": ReceiptState.UNKNOWN,
}
MESSAGE_STATES: dict[int, ReceiptState] = {
    1: ReceiptState.ACCEPTED,  # ENROUTE
    2: ReceiptState.DELIVERED,
    3: ReceiptState.EXPIRED,
    4: ReceiptState.UNDELIVERED,  # DELETED
    5: ReceiptState.UNDELIVERED,
    6: ReceiptState.ACCEPTED,
    7: ReceiptState.UNKNOWN,
    8: ReceiptState.REJECTED,
}

# Field names are matched case-insensitively: SMSCs write "Text:", "stat:" and "Stat:".
_FIELD = re.compile(
    r"\b(?P<key>id|sub|dlvrd|submit date|done date|stat|err|text):",
    re.IGNORECASE,
)
_LOOKS_LIKE_RECEIPT = re.compile(r"^\s*id:\S+.*\bstat:\w+", re.IGNORECASE | re.DOTALL)


def parse_receipt_text(text: str) -> dict[str, str]:
    """The key:value fields of an Appendix B receipt; `text` runs to the end of the message."""
    matches = list(_FIELD.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = match.group("key").lower()
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        if key == "text":
            end = len(text)  # the original text may itself contain "stat:" etc.
        fields.setdefault(key, text[match.end() : end].strip())
        if key == "text":
            break
    return fields


def _smpp_date(value: str | None) -> datetime | None:
    # YYMMDDhhmm, sometimes with seconds. SMSCs report their local time with no zone; we
    # record it as UTC, which is right for most carrier platforms and off by the zone otherwise.
    if not value or not value.isdigit() or len(value) not in (10, 12):
        return None
    return _parse_smpp_date(value)


@functools.lru_cache(maxsize=256)
def _parse_smpp_date(value: str) -> datetime | None:
    # A burst of receipts shares a handful of minute stamps: strptime once per stamp.
    fmt = "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M"
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def receipt_text(pdu: DeliverSm) -> str:
    """The receipt body: short_message, or message_payload when short_message is empty."""
    raw = pdu.short_message or pdu.tlvs.get(TLV_MESSAGE_PAYLOAD, b"")
    return raw.decode("latin-1")  # receipt text is ASCII in practice; latin-1 never fails


def is_receipt(pdu: DeliverSm) -> bool:
    """True for SMSC receipts and intermediate notifications, however the SMSC flags them."""
    if (pdu.esm_class & _TYPE_MASK) in (_SMSC_RECEIPT, _INTERMEDIATE):
        return True
    if TLV_RECEIPTED_MESSAGE_ID in pdu.tlvs or TLV_MESSAGE_STATE in pdu.tlvs:
        return True
    # Some SMSCs send receipts with esm_class 0: only a full Appendix B shape counts, so a
    # customer writing "id:" does not become a receipt.
    if pdu.esm_class & 0x40:
        return False
    return bool(_LOOKS_LIKE_RECEIPT.match(receipt_text(pdu)))


def _network_error(raw: bytes) -> str | None:
    # network_error_code: 1 octet network type (1 ANSI-136, 2 IS-95, 3 GSM) + 2 octets code.
    if len(raw) != 3 or raw[1:] == b"\x00\x00":
        return None
    return f"{raw[0]}:{int.from_bytes(raw[1:], 'big')}"


def parse_receipt(pdu: DeliverSm, provider: str, ids: IdNormaliser) -> DeliveryReceipt | None:
    """DeliveryReceipt for a receipt deliver_sm, or None when it names no message id."""
    fields = parse_receipt_text(receipt_text(pdu))
    raw: dict[str, str] = dict(fields)
    tlv_id = pdu.tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"").split(b"\x00", 1)[0].decode("latin-1")
    if tlv_id:
        raw["receipted_message_id"] = tlv_id
    message_id = tlv_id or fields.get("id", "")
    if not message_id.strip():
        return None

    state = STAT_STATES.get(fields.get("stat", "").upper(), ReceiptState.UNKNOWN)
    state_tlv = pdu.tlvs.get(TLV_MESSAGE_STATE)
    if state_tlv:
        raw["message_state"] = str(state_tlv[0])
        state = MESSAGE_STATES.get(state_tlv[0], state)

    error = fields.get("err") or None
    if error is not None and error.strip("0") == "":
        error = None  # err:000 is "no error"
    net = _network_error(pdu.tlvs.get(TLV_NETWORK_ERROR_CODE, b""))
    if net:
        raw["network_error_code"] = net
        error = error or net
    return DeliveryReceipt(
        provider=provider,
        provider_message_id=ids.from_receipt(message_id),
        state=state,
        error_code=error,
        done_at=_smpp_date(fields.get("done date")),
        raw=raw,
    )
