"""SMPP adapter pieces without a network: URL config, id normalisation, status table, receipt
and MO parsing, reassembly, flow control. PDU bytes are made and checked with smpp34's codec,
an implementation independent of the aiosmpplib codec the adapter uses."""

from __future__ import annotations

import asyncio
import struct

import pytest
import smpp34

from comms.channels.sms.encoding import Fragment, build_parts, encode_gsm7, encode_ucs2
from comms.channels.sms.provider import ReceiptState, SubmitError, Throttled
from comms.channels.sms.smpp_config import SmppConfig
from comms.channels.sms.smpp_flow import TokenBucket, backoff_delay
from comms.channels.sms.smpp_ids import IdFormat, IdNormaliser
from comms.channels.sms.smpp_inbound import (
    GAP,
    assemble,
    decode_text,
    e164,
    fragment_of,
    inbound_part,
)
from comms.channels.sms.smpp_pdu import (
    Address,
    DeliverSm,
    Header,
    PduError,
    parse_deliver_sm,
    response,
    submit_sm,
)
from comms.channels.sms.smpp_receipts import is_receipt, parse_receipt, parse_receipt_text
from comms.channels.sms.smpp_status import StatusClass, classify, status_name, submit_error

# ------------------------------------------------------------------ config


def test_config_from_url_reads_every_documented_parameter() -> None:
    cfg = SmppConfig.from_url(
        "smpp://user%40x:p%40ss@smsc.example:2776?source_addr=10690000&source_ton=5"
        "&source_npi=0&window=20&tps=100&tps_unit=message&id_format=hex_to_dec"
        "&system_type=VMA&enquire_link=15&permanent_status=0x45,1025&throttle_status=0x402"
    )
    assert (cfg.host, cfg.port, cfg.system_id, cfg.password) == (
        "smsc.example",
        2776,
        "user@x",
        "p@ss",
    )
    assert (cfg.source_addr, cfg.source_ton, cfg.source_npi) == ("10690000", 5, 0)
    assert (cfg.window, cfg.tps, cfg.tps_unit, cfg.system_type) == (20, 100.0, "message", "VMA")
    assert cfg.id_format is IdFormat.HEX_TO_DEC and cfg.enquire_link == 15.0
    assert cfg.status_overrides == {
        0x45: StatusClass.PERMANENT,
        1025: StatusClass.PERMANENT,
        0x402: StatusClass.THROTTLE,
    }


def test_config_defaults_and_password_never_shown() -> None:
    cfg = SmppConfig.from_url("smpp://esme:hunter2@10.0.0.1")
    assert cfg.port == 2775 and cfg.window == 10 and cfg.source_ton is None
    assert cfg.bucket_size == 5  # a tenth of a second of the default 50/s
    assert "hunter2" not in repr(cfg) and "hunter2" not in cfg.redacted_url()
    assert cfg.redacted_url() == "smpp://esme:***@10.0.0.1:2775"


@pytest.mark.parametrize(
    "url",
    [
        "http://u:p@h:1",
        "smpp://u:p@h:1?windw=3",
        "smpp://u:p@h:1?window=0",
        "smpp://u:p@h:1?tps=abc",
        "smpp://u:p@h:1?id_format=octal",
        "smpp://u:p@h:1?source_ton=9",
        "smpp://u:toolongpassword@h:1",
        "smpp://u:p@h:1?password=x",
    ],
)
def test_config_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        SmppConfig.from_url(url)


# ------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    ("fmt", "submit", "receipt", "canonical"),
    [
        ("as_is", "0a1b", "0a1b", "0a1b"),
        ("strip_leading_zeros", "000123", "123", "123"),
        ("hex", "00ff", "FF", "FF"),
        ("hex_to_dec", "0A1B", "0000002587", "2587"),
        ("dec_to_hex", "2587", "a1b", "A1B"),
    ],
)
def test_id_formats_make_both_sides_equal(
    fmt: str, submit: str, receipt: str, canonical: str
) -> None:
    ids = IdNormaliser(fmt)
    assert ids.from_submit(submit) == ids.from_receipt(receipt) == canonical


def test_unparseable_id_is_kept_rather_than_raising() -> None:
    assert IdNormaliser("hex_to_dec").from_receipt("abc-1\x00") == "abc-1"
    assert IdNormaliser("strip_leading_zeros").from_submit("0000") == "0"


# ------------------------------------------------------------------ statuses


def test_status_table() -> None:
    assert classify(0x58) is classify(0x14) is StatusClass.THROTTLE
    assert classify(0x08) is classify(0x45) is classify(0x401) is StatusClass.TRANSIENT
    assert classify(0x0B) is classify(0x0A) is classify(0x43) is StatusClass.PERMANENT
    assert classify(0x401, {0x401: StatusClass.PERMANENT}) is StatusClass.PERMANENT
    assert status_name(0x0B) == "ESME_RINVDSTADR" and status_name(0x401) == "0x00000401"
    throttled = submit_error(0x58, retry_after=2.0)
    assert isinstance(throttled, Throttled) and throttled.retry_after == 2.0
    failed = submit_error(0x0B)
    assert isinstance(failed, SubmitError) and failed.permanent and failed.code == "ESME_RINVDSTADR"


# ------------------------------------------------------------------ PDUs


def test_submit_sm_bytes_decode_with_an_independent_codec() -> None:
    part = build_parts("汇通" * 40, 7)[1]
    wire = submit_sm(
        1234,
        Address("HUITONG", 5, 0),
        Address("8613800138000", 1, 1),
        part,
        registered_delivery=1,
        service_type="CMT",
    )
    decoded = smpp34.decode(wire)
    assert isinstance(decoded, smpp34.SubmitSm)
    assert (decoded.sequence_number, decoded.service_type) == (1234, "CMT")
    assert (decoded.source_addr, decoded.source_addr_ton, decoded.source_addr_npi) == (
        "HUITONG",
        5,
        0,
    )
    assert (decoded.esm_class, decoded.data_coding, decoded.registered_delivery) == (0x40, 8, 1)
    assert decoded.short_message == part.short_message


def test_deliver_sm_parsed_raw_with_binary_tlvs() -> None:
    wire = smpp34.DeliverSm(
        "8613800138000",
        "10690000",
        bytes([6, 8, 4, 0x12, 0x34, 2, 1]) + "你".encode("utf-16-be"),
        source_addr_ton=1,
        esm_class=0x40,
        data_coding=8,
        tlvs=[smpp34.Tlv(0x0423, b"\x03\x00\xff"), smpp34.Tlv(0x1401, b"\x80\x81")],
        sequence_number=9,
    ).encode()
    pdu = parse_deliver_sm(wire[16:])
    assert (pdu.source_addr, pdu.source_ton, pdu.dest_addr) == ("8613800138000", 1, "10690000")
    assert (pdu.esm_class, pdu.data_coding) == (0x40, 8)
    assert pdu.tlvs == {0x0423: b"\x03\x00\xff", 0x1401: b"\x80\x81"}
    assert fragment_of(pdu) == (0x1234, 2, 1, "你".encode("utf-16-be"))
    with pytest.raises(PduError):
        parse_deliver_sm(wire[16:40])


def test_responses_echo_the_sequence_and_nack_unknown_commands() -> None:
    resp = response(Header(16, 0x00000005, 0, 77), 0x64)
    assert struct.unpack("!IIII", resp[:16]) == (17, 0x80000005, 0x64, 77)
    nack = response(Header(16, 0x00000103, 0, 78))  # data_sm: not supported
    assert struct.unpack("!IIII", nack) == (16, 0x80000000, 0x03, 78)


# ------------------------------------------------------------------ receipts


def dsm(short_message: bytes = b"", esm_class: int = 0x04, **kw: object) -> DeliverSm:
    base: dict[str, object] = {
        "source_addr": "8613800138000",
        "source_ton": 1,
        "source_npi": 1,
        "dest_addr": "10690000",
        "dest_ton": 0,
        "dest_npi": 1,
        "esm_class": esm_class,
        "protocol_id": 0,
        "data_coding": 0,
        "short_message": short_message,
    }
    base.update(kw)
    return DeliverSm(**base)  # type: ignore[arg-type]


def test_receipt_text_fields_case_and_text_tail() -> None:
    fields = parse_receipt_text(
        "id:7 sub:001 dlvrd:001 Submit date:2401011200 done date:240101120130 "
        "Stat:DELIVRD err:000 Text:stat:ignored id:too"
    )
    assert fields["id"] == "7" and fields["stat"] == "DELIVRD"
    assert fields["done date"] == "240101120130" and fields["text"] == "stat:ignored id:too"


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", ReceiptState.DELIVERED),
        ("UNDELIV", ReceiptState.UNDELIVERED),
        ("EXPIRED", ReceiptState.EXPIRED),
        ("REJECTD", ReceiptState.REJECTED),
        ("DELETED", ReceiptState.UNDELIVERED),
        ("ACCEPTD", ReceiptState.ACCEPTED),
        ("ENROUTE", ReceiptState.ACCEPTED),
        ("UNKNOWN", ReceiptState.UNKNOWN),
        ("WHATEVER", ReceiptState.UNKNOWN),
    ],
)
def test_receipt_stat_mapping(stat: str, state: ReceiptState) -> None:
    receipt = parse_receipt(dsm(f"id:1 stat:{stat} err:000".encode()), "smpp", IdNormaliser())
    assert receipt is not None and receipt.state is state and receipt.error_code is None


def test_receipt_tlvs_win_over_text_and_carry_network_error() -> None:
    pdu = dsm(
        b"id:99 stat:DELIVRD err:000",
        tlvs={0x001E: b"0063\x00", 0x0427: bytes([5]), 0x0423: b"\x03\x00\x22"},
    )
    receipt = parse_receipt(pdu, "smpp", IdNormaliser("hex_to_dec"))
    assert receipt is not None
    assert (receipt.provider_message_id, receipt.state, receipt.error_code) == (
        "63",
        ReceiptState.UNDELIVERED,
        "3:34",
    )
    assert receipt.raw["receipted_message_id"] == "0063" and receipt.raw["message_state"] == "5"


def test_receipt_detection() -> None:
    assert is_receipt(dsm(b"whatever", esm_class=0x04))
    assert is_receipt(dsm(b"", esm_class=0, tlvs={0x0427: b"\x02"}))
    # esm_class 0 receipts exist; only a full "id:... stat:..." shape counts.
    assert is_receipt(dsm(b"id:5 sub:001 dlvrd:001 stat:DELIVRD", esm_class=0))
    assert not is_receipt(dsm(b"my id: 5, please call", esm_class=0))
    assert not is_receipt(dsm(b"\x05\x00\x03\x01\x02\x01id:5 stat:X", esm_class=0x40))
    assert parse_receipt(dsm(b"stat:DELIVRD"), "smpp", IdNormaliser()) is None


# ------------------------------------------------------------------ MO text and reassembly


def test_decode_text_by_data_coding() -> None:
    assert decode_text(encode_gsm7("€ @ {x}"), 0x00) == "€ @ {x}"
    assert decode_text("Grüße".encode("latin-1"), 0x03) == "Grüße"
    assert decode_text("Grüße".encode("latin-1"), 0x00) == "Grüße"  # "GSM" that is Latin-1
    assert decode_text(encode_ucs2("汉😀"), 0x08) == "汉😀"
    assert decode_text(encode_ucs2("汉"), 0x18) == "汉"  # GSM DCS general group, UCS-2
    assert decode_text(encode_gsm7("hi"), 0xF1) == "hi"  # message class 1, GSM
    assert decode_text(b"hi", 0xF5) == "hi"  # message class 1, 8-bit
    assert decode_text(b"\xd8\x3d", 0x08) == "\ufffd"  # half a surrogate pair never raises


def test_e164_only_for_international_numbers() -> None:
    assert e164("8613800138000", 1) == "+8613800138000"
    assert e164("13800138000", 2) == "13800138000"
    assert e164("BANK", 5) == "BANK"


def test_assemble_joins_bytes_when_whole_and_shows_gaps_otherwise() -> None:
    halves = encode_ucs2("见😀")  # the emoji's surrogate pair split across the parts
    assert assemble({2: halves[4:], 1: halves[:4]}, 2, 8) == ("见😀", True)
    a1, a3 = encode_ucs2("甲"), encode_ucs2("丙")
    assert assemble({1: a1, 3: a3}, 3, 8) == (f"甲{GAP}丙", False)
    assert assemble({}, 2, 8) == (GAP * 2, False)


def test_inbound_part_carries_group_key_coding_and_wait() -> None:
    pdu = dsm(esm_class=0x40, data_coding=8)
    part = inbound_part("smsc-a", pdu, Fragment(0x77, 3, 2, b"\x00X"), wait=30.0)
    assert (part.provider, part.reference, part.total, part.seq) == ("smsc-a", 0x77, 3, 2)
    assert (part.payload, part.data_coding, part.wait) == (b"\x00X", 8, 30.0)
    assert part.sender == e164(pdu.source_addr, pdu.source_ton)
    assert part.recipient == pdu.dest_addr


def test_sar_fragment_validation() -> None:
    sar = {0x020C: b"\x01\x02", 0x020E: b"\x02", 0x020F: b"\x03"}
    with pytest.raises(ValueError):
        fragment_of(dsm(b"x", esm_class=0, tlvs=sar))


# ------------------------------------------------------------------ flow control


def test_backoff_grows_is_capped_and_jittered() -> None:
    assert backoff_delay(0, 1, 60, rand=lambda: 0.0) == 0.5
    assert backoff_delay(3, 1, 60, rand=lambda: 1.0) == 8.0
    assert backoff_delay(30, 1, 60, rand=lambda: 1.0) == 60.0
    assert 30.0 <= backoff_delay(30, 1, 60) <= 60.0


async def test_token_bucket_slow_down_pauses_then_recovers() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=10, capacity=2, clock=lambda: now[0])
    await asyncio.wait_for(bucket.take(), 1)
    await asyncio.wait_for(bucket.take(), 1)  # the burst is there immediately
    bucket.slow_down(pause=1.0, factor=0.5, cooldown=5.0)
    assert bucket.rate == 5.0
    now[0] += 3.0
    assert bucket.rate == 5.0
    now[0] += 3.5
    assert bucket.rate == 10.0


async def test_token_bucket_try_take_spends_only_what_is_there_and_never_jumps_the_queue() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=10, capacity=2, clock=lambda: now[0])
    assert bucket.try_take() and bucket.try_take()  # the burst
    assert not bucket.try_take()  # empty: the caller waits in take() instead
    now[0] += 0.15
    assert bucket.try_take()  # one token accrued
    bucket.slow_down(pause=1.0, factor=0.5, cooldown=5.0)
    now[0] += 0.5
    assert not bucket.try_take()  # paused
    now[0] += 1.0
    async with bucket._lock:  # someone waits in take(): they come first
        assert not bucket.try_take()
    assert bucket.try_take()
