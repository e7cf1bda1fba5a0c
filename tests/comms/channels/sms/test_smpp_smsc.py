"""SmppProvider against a real SMSC on 127.0.0.1: smpp34's server (an independent Rust SMPP
implementation), reached through a byte-level TCP tap that can observe and cut the link."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import smpp34
from sqlalchemy import select

from comms.channels.sms.encoding import build_parts, encode_gsm7, encode_ucs2
from comms.channels.sms.provider import (
    DeliveryReceipt,
    InboundPart,
    InboundSms,
    OutboundSms,
    ReceiptState,
    SubmitError,
    Throttled,
)
from comms.channels.sms.smpp import SmppConfig, SmppProvider
from comms.channels.sms.smpp_inbound import assemble
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.models import Message
from hubtest import TenantCtx

TO = "+8613800138000"
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
BIND_TRX, UNBIND, UNBIND_RESP = 0x00000009, 0x00000006, 0x80000006
# SMPP 3.4 TLV tags (smpp34 exports them too, but only dynamically).
TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE = 0x001E, 0x0427
TLV_SAR_MSG_REF_NUM, TLV_SAR_TOTAL_SEGMENTS, TLV_SAR_SEGMENT_SEQNUM = 0x020C, 0x020E, 0x020F

Policy = Callable[[Any], "str | int | None"]  # SubmitSmEvent -> message id, status, or hold


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll until `check()` holds: no sleeps sized to the machine's speed."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def udh_seq(ev: Any) -> int:
    return int(ev.short_message[5]) if ev.esm_class & 0x40 else 1


class Smsc:
    """smpp34.Server plus a scriptable answer for each submit_sm."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = smpp34.Server("127.0.0.1", self.port, system_id="TESTSMSC")
        self.submits: list[Any] = []  # every SubmitSmEvent, in arrival order
        self.held: list[Any] = []  # events the policy chose not to answer yet
        self.esme: Any = None  # the latest bound session
        self.binds = self.unbound = 0
        self.counter = 0
        self.policy: Policy = self.accept_hex
        self._task: asyncio.Task[None] | None = None

    def accept_hex(self, ev: Any) -> str:
        self.counter += 1
        return f"{self.counter:08X}"

    async def start(self) -> None:
        await self.server.start()
        self._task = asyncio.create_task(self._pump())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.held.clear()
        await self.server.stop()

    async def _pump(self) -> None:
        while True:
            ev = await self.server.next()
            if isinstance(ev, smpp34.Esme):
                self.esme, self.binds = ev, self.binds + 1
            elif isinstance(ev, smpp34.Unbound):
                self.unbound += 1
            else:
                self.submits.append(ev)
                self.answer(ev, self.policy(ev))

    def answer(self, ev: Any, verdict: str | int | None) -> None:
        if verdict is None:
            self.held.append(ev)
        elif isinstance(verdict, str):
            ev.accept(verdict)
        else:
            ev.reject(verdict)

    def release(self) -> int:
        """Accept every held submit_sm now (policy switched to accept first)."""
        held, self.held = self.held, []
        for ev in held:
            ev.accept(self.accept_hex(ev))
        return len(held)

    async def deliver(self, short_message: bytes = b"", **kw: Any) -> Any:
        kw.setdefault("source_addr", TO[1:])
        return await self.esme.deliver_sm("10690000", short_message, **kw)


class Tap:
    """A TCP relay between provider and SMSC that counts PDUs by command_id and can cut or
    stall the link. It reads only the 16-byte headers: all SMPP work is the SMSC's."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sent: list[int] = []  # command_ids provider -> SMSC
        self.received: list[int] = []  # command_ids SMSC -> provider
        self.accepted = 0
        self.refuse = False
        self._links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._stalled: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.refuse:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self._links.append((writer, up_writer))
        for args in ((reader, up_writer, self.sent), (up_reader, writer, self.received)):
            task = asyncio.create_task(self._pipe(*args))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[int]
    ) -> None:
        buf = b""
        try:
            while data := await reader.read(65536):
                buf += data
                while len(buf) >= 16 and len(buf) >= int.from_bytes(buf[:4], "big"):
                    seen.append(int.from_bytes(buf[4:8], "big"))
                    buf = buf[int.from_bytes(buf[:4], "big") :]
                if writer not in self._stalled:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def drop(self) -> None:
        """Cut every current connection, as a network failure would (no unbind, no FIN)."""
        for a, b in self._links:
            a.transport.abort()
            b.transport.abort()
        self._links.clear()

    def stall(self) -> None:
        """Stop forwarding SMSC -> provider on current links: TCP alive, SMSC silent."""
        self._stalled.update(client for client, _ in self._links)

    async def stop(self) -> None:
        self.drop()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Sink:
    def __init__(self) -> None:
        self.receipts: list[DeliveryReceipt] = []
        self.inbound: list[InboundSms] = []
        self.parts: list[InboundPart] = []
        self.fail_next = 0

    async def on_receipt(self, receipt: DeliveryReceipt) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("database unavailable")
        self.receipts.append(receipt)

    async def on_inbound(self, message: InboundSms) -> None:
        self.inbound.append(message)

    async def on_inbound_part(self, part: InboundPart) -> None:
        """Keeps parts in memory; the messaging sink's durable store is tested with the DB."""
        self.parts.append(part)
        same = [
            p
            for p in self.parts
            if (p.sender, p.reference, p.total) == (part.sender, part.reference, part.total)
        ]
        got = {p.seq: p.payload for p in reversed(same)}  # the first copy wins
        if len(got) == part.total:
            text, _ = assemble(got, part.total, part.data_coding)
            self.inbound.append(
                InboundSms(part.provider, part.sender, part.recipient, text, part.received_at)
            )


FAST = {
    "source_addr": "HUITONG",
    "enquire_link": 5,
    "response_timeout": 2,
    "connect_timeout": 2,
    "bind_wait": 2,
    "reconnect_min": 0.05,
    "reconnect_max": 0.2,
    "throttle_backoff": 0.05,
    "throttle_cooldown": 0.5,
    "tps": 1000,
}


class Env:
    def __init__(self, smsc: Smsc, tap: Tap) -> None:
        self.smsc, self.tap, self.sink = smsc, tap, Sink()
        self.providers: list[SmppProvider] = []

    async def provider(self, *, start: bool = True, **params: Any) -> SmppProvider:
        query = urlencode({**FAST, **params})
        config = SmppConfig.from_url(f"smpp://esme:secret@127.0.0.1:{self.tap.port}?{query}")
        provider = SmppProvider(config)
        self.providers.append(provider)
        if start:
            await provider.start(self.sink)
            assert provider.bound
            # The SMSC's event for this bind may trail our bind_resp a little.
            await eventually(lambda: self.smsc.binds >= sum(p.binds for p in self.providers))
        return provider


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    smsc = Smsc()
    await smsc.start()
    tap = Tap(smsc.port)
    await tap.start()
    environment = Env(smsc, tap)
    try:
        yield environment
    finally:
        for provider in environment.providers:
            await provider.stop()
        await tap.stop()
        await smsc.stop()


def sms(text: str = "Hello", **kw: Any) -> OutboundSms:
    return OutboundSms(message_id=uuid.uuid4(), to=TO, text=text, **kw)


async def gather_results(coros: Sequence[Awaitable[Any]]) -> list[Any]:
    return list(await asyncio.gather(*coros))


def refuse_with(status: int) -> Policy:
    return lambda ev: status


# ------------------------------------------------------------------ submit


async def test_single_submit_binds_and_sends_the_encoded_segment(env: Env) -> None:
    provider = await env.provider()
    result = await provider.submit(sms("Hello @ £5"))

    assert env.smsc.binds == 1 and result.segments == 1
    [ev] = env.smsc.submits
    assert result.provider_message_ids == ["00000001"]
    assert (ev.source_addr, ev.source_addr_ton, ev.source_addr_npi) == ("HUITONG", 5, 0)
    assert (ev.destination_addr, ev.dest_addr_ton, ev.dest_addr_npi) == (TO[1:], 1, 1)
    assert (ev.esm_class, ev.data_coding, ev.registered_delivery) == (0, 0, 1)
    assert ev.short_message == encode_gsm7("Hello @ £5")


async def test_multipart_gsm_and_ucs2_carry_udh_in_segment_order(env: Env) -> None:
    provider = await env.provider()
    env.smsc.policy = lambda ev: f"SEG{udh_seq(ev)}-{ev.short_message[3]:02X}"
    long_gsm, long_zh = "x" * 200, "汇通消息" * 25  # 2 x GSM7 (153+47), 2 x UCS-2 (67+33)

    gsm = await provider.submit(sms(long_gsm, reference=0x2A, sender="+8610690000"))
    zh = await provider.submit(sms(long_zh, reference=0x2B, want_receipt=False))

    assert gsm.segments == 2 and gsm.provider_message_ids == ["SEG1-2A", "SEG2-2A"]
    assert zh.segments == 2 and zh.provider_message_ids == ["SEG1-2B", "SEG2-2B"]
    sent = sorted(env.smsc.submits[:2], key=udh_seq) + sorted(env.smsc.submits[2:], key=udh_seq)
    expected = build_parts(long_gsm, 0x2A) + build_parts(long_zh, 0x2B)
    assert [ev.short_message for ev in sent] == [p.short_message for p in expected]
    assert [(ev.esm_class, ev.data_coding) for ev in sent] == [(0x40, 0)] * 2 + [(0x40, 8)] * 2
    assert [ev.registered_delivery for ev in sent] == [1, 1, 0, 0]
    assert {(ev.source_addr, ev.source_addr_ton) for ev in sent[:2]} == {("8610690000", 1)}


async def test_window_caps_outstanding_submit_sm_across_callers(env: Env) -> None:
    provider = await env.provider(window=3)
    env.smsc.policy = lambda ev: None  # hold every answer
    submits = [provider.submit(sms()) for _ in range(8)]
    pending = asyncio.ensure_future(gather_results(submits))

    await eventually(lambda: len(env.smsc.held) == 3)
    await asyncio.sleep(0.3)  # a fourth would have arrived by now if the window leaked
    assert len(env.smsc.held) == 3 and not pending.done()

    released = 0  # keep holding; hand back answers in batches, the window refills each time
    while not pending.done():
        assert len(env.smsc.held) <= 3
        released += env.smsc.release()
        await asyncio.sleep(0.02)
    results = await pending
    assert released == 8 and len(env.smsc.submits) == 8
    assert len({r.provider_message_ids[0] for r in results}) == 8


async def test_throughput_cap_spaces_submits(env: Env) -> None:
    provider = await env.provider(tps=20, burst=1)
    started = time.monotonic()
    await gather_results([provider.submit(sms()) for _ in range(11)])
    elapsed = time.monotonic() - started
    # 10 tokens after the first at 20/s is 0.5 s; the bound is loose on purpose.
    assert 0.35 <= elapsed < 10


async def test_throttled_raises_slows_down_and_later_succeeds(env: Env) -> None:
    provider = await env.provider()
    for status, code in ((0x58, "ESME_RTHROTTLED"), (0x14, "ESME_RMSGQFUL")):
        env.smsc.policy = refuse_with(status)
        with pytest.raises(Throttled) as caught:
            await provider.submit(sms())
        assert caught.value.code == code and caught.value.permanent is False
        assert caught.value.retry_after == pytest.approx(0.05)
    assert provider.bucket.rate < provider.bucket.base_rate

    env.smsc.policy = env.smsc.accept_hex
    result = await provider.submit(sms())
    assert result.segments == 1 and len(env.smsc.submits) == 3


async def test_refusals_map_to_permanent_or_transient_errors(env: Env) -> None:
    provider = await env.provider()
    cases = [
        (0x0B, "ESME_RINVDSTADR", True),
        (0x0A, "ESME_RINVSRCADR", True),
        (0x45, "ESME_RSUBMITFAIL", False),
        (0x08, "ESME_RSYSERR", False),
    ]
    for status, code, permanent in cases:
        env.smsc.policy = refuse_with(status)
        with pytest.raises(SubmitError) as caught:
            await provider.submit(sms())
        assert not isinstance(caught.value, Throttled)
        assert (caught.value.code, caught.value.permanent) == (code, permanent)


# ------------------------------------------------------------------ receipts


async def test_receipts_by_tlv_and_by_text_match_normalised_submit_ids(env: Env) -> None:
    # This SMSC answers submit_sm in hex and reports receipts in decimal (and zero-padded).
    provider = await env.provider(id_format="hex_to_dec")
    env.smsc.policy = lambda ev: "0A1B"  # = 2587
    result = await provider.submit(sms())
    assert result.provider_message_ids == ["2587"]

    tlv = await env.smsc.deliver(
        esm_class=0x04,
        tlvs=[
            smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, b"2587\x00"),
            smpp34.Tlv(TLV_MESSAGE_STATE, bytes([2])),
        ],
    )
    text = await env.smsc.deliver(
        b"id:0000002587 sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 "
        b"stat:UNDELIV err:034 text:Hello",
        esm_class=0x04,
    )

    assert tlv.command_status == 0 and text.command_status == 0
    await eventually(lambda: len(env.sink.receipts) == 2)
    first, second = env.sink.receipts
    assert (first.provider, first.provider_message_id, first.state) == (
        "smpp",
        "2587",
        ReceiptState.DELIVERED,
    )
    assert (second.provider_message_id, second.state, second.error_code) == (
        "2587",
        ReceiptState.UNDELIVERED,
        "034",
    )
    assert second.done_at is not None and second.done_at.minute == 1


async def test_each_segment_receipt_is_reported_for_roll_up(env: Env) -> None:
    provider = await env.provider(id_format="hex_to_dec")
    env.smsc.policy = lambda ev: f"{0x10 + udh_seq(ev):X}"  # "11", "12" hex
    result = await provider.submit(sms("y" * 300))
    assert result.provider_message_ids == ["17", "18"]
    for dec_id in ("18", "17"):
        await env.smsc.deliver(
            f"id:{dec_id} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
            "stat:DELIVRD err:000 text:".encode(),
            esm_class=0x04,
        )
    await eventually(lambda: len(env.sink.receipts) == 2)
    assert {(r.provider_message_id, r.state) for r in env.sink.receipts} == {
        ("17", ReceiptState.DELIVERED),
        ("18", ReceiptState.DELIVERED),
    }


async def test_sink_failure_answers_rx_t_appn_so_the_smsc_redelivers(env: Env) -> None:
    await env.provider()
    env.sink.fail_next = 1
    receipt = b"id:42 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:EXPIRED"
    first = await env.smsc.deliver(receipt, esm_class=0x04)
    again = await env.smsc.deliver(receipt, esm_class=0x04)
    assert (first.command_status, again.command_status) == (0x64, 0)
    assert [(r.provider_message_id, r.state) for r in env.sink.receipts] == [
        ("42", ReceiptState.EXPIRED)
    ]


# ------------------------------------------------------------------ MO


async def test_mo_single_messages_in_gsm_latin1_and_ucs2(env: Env) -> None:
    await env.provider()
    await env.smsc.deliver(encode_gsm7("Hi @ £1 {ok}"), data_coding=0, source_addr_ton=1)
    await env.smsc.deliver("Grüße".encode("latin-1"), data_coding=3, source_addr_ton=1)
    await env.smsc.deliver(
        encode_ucs2("你好"), data_coding=8, source_addr="13800138000", source_addr_ton=2
    )
    await eventually(lambda: len(env.sink.inbound) == 3)
    assert [m.text for m in env.sink.inbound] == ["Hi @ £1 {ok}", "Grüße", "你好"]
    assert [m.sender for m in env.sink.inbound] == [TO, TO, "13800138000"]
    assert {m.recipient for m in env.sink.inbound} == {"10690000"}


async def test_mo_multipart_reassembled_from_udh_8bit_16bit_and_sar(env: Env) -> None:
    await env.provider()
    text = "您好，我想预约明天下午三点的会议室，请确认。谢谢！" * 4  # 104 chars: 2 UCS-2 parts
    data = encode_ucs2(text)
    halves = [data[:134], data[134:]]

    # 8-bit reference, parts arriving out of order.
    for seq in (2, 1):
        udh = bytes([5, 0, 3, 0x77, 2, seq])
        await env.smsc.deliver(
            udh + halves[seq - 1], esm_class=0x40, data_coding=8, source_addr_ton=1
        )
    # 16-bit reference.
    for seq in (1, 2):
        udh = bytes([6, 8, 4, 0x12, 0x34, 2, seq])
        await env.smsc.deliver(
            udh + halves[seq - 1], esm_class=0x40, data_coding=8, source_addr_ton=1
        )
    # SAR TLVs instead of a UDH, with an emoji split between the parts' surrogates.
    sar = encode_ucs2("见😀")
    for seq, chunk in ((1, sar[:4]), (2, sar[4:])):
        await env.smsc.deliver(
            chunk,
            data_coding=8,
            source_addr_ton=1,
            tlvs=[
                smpp34.Tlv(TLV_SAR_MSG_REF_NUM, (0x0102).to_bytes(2, "big")),
                smpp34.Tlv(TLV_SAR_TOTAL_SEGMENTS, bytes([2])),
                smpp34.Tlv(TLV_SAR_SEGMENT_SEQNUM, bytes([seq])),
            ],
        )

    await eventually(lambda: len(env.sink.inbound) == 3)
    assert [m.text for m in env.sink.inbound] == [text, text, "见😀"]
    assert all(m.sender == TO for m in env.sink.inbound)


async def test_each_mo_part_is_handed_on_with_the_configured_wait(env: Env) -> None:
    await env.provider(mo_timeout=0.2)
    udh = bytes([5, 0, 3, 0x09, 2, 1])
    await env.smsc.deliver(udh + encode_ucs2("第一部分"), esm_class=0x40, data_coding=8)
    await eventually(lambda: len(env.sink.parts) == 1)
    [part] = env.sink.parts
    assert (part.reference, part.total, part.seq, part.wait) == (0x09, 2, 1, 0.2)
    assert part.payload == encode_ucs2("第一部分") and env.sink.inbound == []


# ------------------------------------------------------------------ link management


async def test_link_drop_reconnects_and_resubmits_what_was_in_flight(env: Env) -> None:
    provider = await env.provider()
    env.smsc.policy = lambda ev: None  # the SMSC takes them but never answers...
    pending = asyncio.ensure_future(
        gather_results([provider.submit(sms(f"m{i}")) for i in range(3)])
    )
    await eventually(lambda: len(env.smsc.held) == 3)

    env.smsc.policy = env.smsc.accept_hex
    env.tap.drop()  # ...and the link dies before any submit_sm_resp
    results = await asyncio.wait_for(pending, 10)

    assert provider.binds == 2 and env.tap.sent.count(BIND_TRX) == 2
    assert [r.segments for r in results] == [1, 1, 1]
    resent = sorted(ev.short_message for ev in env.smsc.submits[3:])
    assert resent == sorted(encode_gsm7(f"m{i}") for i in range(3))


async def test_link_drop_resends_only_the_unanswered_segment(env: Env) -> None:
    provider = await env.provider()
    env.smsc.policy = lambda ev: "FIRST" if udh_seq(ev) == 1 else None
    pending = asyncio.ensure_future(provider.submit(sms("z" * 200, reference=5)))
    await eventually(lambda: len(env.smsc.held) == 1 and len(env.smsc.submits) == 2)
    await asyncio.sleep(0.1)
    assert not pending.done()  # no result until every segment has its submit_sm_resp

    env.smsc.policy = lambda ev: "SECOND"
    env.tap.drop()
    result = await asyncio.wait_for(pending, 10)
    assert result.provider_message_ids == ["FIRST", "SECOND"]
    assert sorted(udh_seq(ev) for ev in env.smsc.submits) == [1, 2, 2]


async def test_smsc_down_fails_fast_and_reconnects_with_backoff(env: Env) -> None:
    env.tap.refuse = True
    provider = await env.provider(
        start=False, connect_timeout=0.3, bind_wait=0.3, reconnect_min=0.05, reconnect_max=0.4
    )
    await provider.start(env.sink)
    assert not provider.bound

    started = time.monotonic()
    with pytest.raises(SubmitError) as caught:
        await provider.submit(sms())
    assert caught.value.code == "SMPP_NOT_BOUND" and not caught.value.permanent
    assert time.monotonic() - started < 3

    tried = env.tap.accepted
    await asyncio.sleep(1.0)
    # Backoff 0.05, 0.1, 0.2, 0.4, 0.4... (jittered): a handful of tries, not a tight loop.
    assert 1 <= env.tap.accepted - tried <= 15

    env.tap.refuse = False
    await eventually(lambda: provider.bound)
    assert (await provider.submit(sms())).segments == 1


async def test_enquire_link_keeps_the_link_and_detects_a_silent_smsc(env: Env) -> None:
    provider = await env.provider(enquire_link=0.1, response_timeout=0.5)
    await eventually(lambda: env.tap.received.count(ENQUIRE_LINK_RESP) >= 3)
    assert env.tap.sent.count(ENQUIRE_LINK) >= 3 and provider.binds == 1

    env.tap.stall()  # TCP stays up, the SMSC's answers stop arriving
    await eventually(lambda: provider.binds == 2 and provider.bound)
    assert (await provider.submit(sms())).segments == 1


async def test_smsc_unbind_is_answered_and_followed_by_a_rebind(env: Env) -> None:
    provider = await env.provider()
    await env.smsc.esme.unbind()
    await eventually(lambda: provider.binds == 2 and provider.bound)
    assert UNBIND_RESP in env.tap.sent


async def test_stop_unbinds(env: Env) -> None:
    provider = await env.provider()
    started = time.monotonic()
    await provider.stop()
    assert time.monotonic() - started < 3
    assert UNBIND in env.tap.sent and not provider.bound
    await eventually(lambda: env.smsc.unbound == 1)
    with pytest.raises(SubmitError) as caught:
        await provider.submit(sms())
    assert not caught.value.permanent


async def test_a_multipart_mo_split_by_a_restart_is_stored_whole(
    env: Env, hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    """The SMSC gets each part's deliver_sm_resp at once and never sends it again, so a part
    acknowledged before a restart must be in the database, not in the old process."""
    r = await client.put(
        "/api/v1/messaging/settings",
        headers=tenant.auth,
        json={"inbound_sms_numbers": ["10690000"]},
    )
    assert r.status_code == 200, r.text
    env.sink = hub.services["messaging.sink"]  # the messaging service itself, on the database
    data = encode_ucs2("您好，我想预约明天下午三点的会议室，请确认。谢谢！" * 4)
    first = await env.provider()
    await env.smsc.deliver(
        bytes([5, 0, 3, 0x31, 2, 1]) + data[:134], esm_class=0x40, data_coding=8, source_addr_ton=1
    )
    await first.stop()  # the process ends after acknowledging part 1
    await env.provider()  # a new process binds
    await eventually(lambda: env.smsc.binds == 2)
    await env.smsc.deliver(
        bytes([5, 0, 3, 0x31, 2, 2]) + data[134:], esm_class=0x40, data_coding=8, source_addr_ton=1
    )
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        bodies = list(await s.scalars(select(Message.body)))
    assert bodies == [data.decode("utf-16-be")]
