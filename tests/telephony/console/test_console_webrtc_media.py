"""The browser really is the phone: a SIP INVITE over the WebSocket, answered in the console,
and audio flowing both ways between Chromium (JsSIP, a fake microphone) and an independent
WebRTC stack (aiortc) on the other end."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_kit import chromium, collect_errors, need_browser, shoot, sign_in
from console_testkit import SIP_PORT, emit, make_person, serve
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.typing import Subprotocol

from comms.app import create_app
from comms.hub import Hub
from hubtest import make_tenant

aiortc = pytest.importorskip("aiortc", reason="aiortc (the far end's WebRTC) is not installed")
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack  # noqa: E402

JSSIP_BUNDLE = Path(__file__).resolve().parents[3] / "telephony/console/static/vendor/jssip.js"
CALLER = "+8613800138000"
# Chromium names its host candidates with mDNS unless told not to; aiortc then could not reach
# them from inside a container without multicast.
ARGS = ("--use-fake-device-for-media-stream", "--disable-features=WebRtcHideLocalIpsWithMdns")


# Audio RTP packets the page's peer connection(s) received, from WebRTC's own statistics.
RECEIVED = """async () => {
  let n = 0;
  for (const pc of window.__pcs)
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.packetsReceived;
    });
  return n;
}"""


def parse(raw: str) -> tuple[str, dict[str, str], str]:
    """(start line, headers by lower-case name, body) of one SIP message."""
    head, _, body = raw.partition("\r\n\r\n")
    start, *lines = head.split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return start, headers, body


def message(start: str, headers: list[tuple[str, str]], body: str = "") -> str:
    lines = [start, *(f"{k}: {v}" for k, v in headers)]
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


class SipPeer:
    """The PBX side of RFC 7118 for one registration and one call: 200 to REGISTER, an INVITE
    with aiortc's offer, ACK to the browser's 200 with its answer."""

    def __init__(self) -> None:
        self.ws: ServerConnection | None = None
        self.contact: str | None = None
        self.replies: asyncio.Queue[tuple[str, dict[str, str], str]] = asyncio.Queue()
        self.registered = asyncio.Event()

    async def handler(self, ws: ServerConnection) -> None:
        self.ws = ws
        async for raw in ws:
            start, headers, body = parse(str(raw))
            if start.startswith("REGISTER"):
                found = re.search(r"<([^>]+)>", headers["contact"])
                assert found is not None
                self.contact = found.group(1)
                await ws.send(self._reply(headers, "200 OK", [("Contact", headers["contact"])]))
                self.registered.set()
            elif start.startswith("SIP/2.0"):
                await self.replies.put((start, headers, body))

    def _reply(
        self, h: Mapping[str, str], status: str, extra: list[tuple[str, str]] | None = None
    ) -> str:
        to = h["to"] if ";tag=" in h["to"] else f"{h['to']};tag={uuid.uuid4().hex[:8]}"
        return message(
            f"SIP/2.0 {status}",
            [
                ("Via", h["via"]),
                ("From", h["from"]),
                ("To", to),
                ("Call-ID", h["call-id"]),
                ("CSeq", h["cseq"]),
                *(extra or []),
            ],
        )

    async def invite(self, sdp: str) -> tuple[dict[str, str], str]:
        """Send the INVITE; wait for the final answer; returns its headers and SDP."""
        assert self.ws is not None and self.contact is not None
        self.call_id, self.from_tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        await self.ws.send(
            message(
                f"INVITE {self.contact} SIP/2.0",
                [
                    ("Via", f"SIP/2.0/WS pbx.invalid;branch=z9hG4bK{uuid.uuid4().hex[:10]}"),
                    ("Max-Forwards", "70"),
                    ("To", "<sip:1001@pbx.example.cn>"),
                    ("From", f"<sip:{CALLER}@pbx.example.cn>;tag={self.from_tag}"),
                    ("Call-ID", self.call_id),
                    ("CSeq", "1 INVITE"),
                    ("Contact", "<sip:pbx@pbx.invalid;transport=ws>"),
                    ("Content-Type", "application/sdp"),
                ],
                sdp,
            )
        )
        while True:
            start, headers, body = await self.replies.get()
            code = int(start.split()[1])
            if code >= 200:
                assert code == 200, start
                return headers, body

    async def ack(self, to: str) -> None:
        assert self.ws is not None and self.contact is not None
        await self.ws.send(
            message(
                f"ACK {self.contact} SIP/2.0",
                [
                    ("Via", f"SIP/2.0/WS pbx.invalid;branch=z9hG4bK{uuid.uuid4().hex[:10]}"),
                    ("Max-Forwards", "70"),
                    ("To", to),
                    ("From", f"<sip:{CALLER}@pbx.example.cn>;tag={self.from_tag}"),
                    ("Call-ID", self.call_id),
                    ("CSeq", "1 ACK"),
                ],
            )
        )


@pytest.fixture
async def peer() -> AsyncIterator[SipPeer]:
    sip = SipPeer()
    async with ws_serve(sip.handler, "127.0.0.1", SIP_PORT, subprotocols=[Subprotocol("sip")]):
        yield sip


async def frames_from(track: MediaStreamTrack, count: int) -> list[Any]:
    return [await track.recv() for _ in range(count)]


async def test_an_invite_answered_in_the_console_carries_audio_both_ways(
    webrtc_hub: Hub, peer: SipPeer
) -> None:
    need_browser()
    if not JSSIP_BUNDLE.exists():
        pytest.skip("JsSIP bundle not built: cd telephony/console/web && npm ci && npm run build")
    hub = webrtc_hub
    t = await make_tenant(hub, "media-co")
    app = create_app(hub=hub, start_services=False)
    pc = RTCPeerConnection()
    heard: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio" and not heard.done():
            heard.set_result(track)

    pc.addTrack(AudioStreamTrack())  # the caller's side: aiortc's own audio (silence)
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as c,
            serve(app) as base,
            chromium(ARGS) as browser,
        ):
            agent = await make_person(c, t, "agent", "li")
            page = await browser.new_page()
            # Test-only: keep the page's peer connections reachable for getStats().
            await page.add_init_script(
                """(() => {
                  const Native = window.RTCPeerConnection; window.__pcs = [];
                  window.RTCPeerConnection = function (...a) {
                    const pc = new Native(...a); window.__pcs.push(pc); return pc;
                  };
                  window.RTCPeerConnection.prototype = Native.prototype;
                })()"""
            )
            errors = collect_errors(page)
            await sign_in(page, base, agent.email, agent.password)
            await page.wait_for_selector("#audio-mode:text-is('browser audio')")
            async with asyncio.timeout(10):
                await peer.registered.wait()
            # The call centre offers the call to the agent: the card pops, the phone rings.
            await emit(
                hub,
                t.id,
                "telephony.queue.call_offered",
                queue_id=str(uuid.uuid4()),
                entry_id=str(uuid.uuid4()),
                call_id=str(uuid.uuid4()),
                caller=CALLER,
                agent_id=str(uuid.uuid4()),
                user_id=agent.user_id,
            )
            await page.wait_for_selector("#call-card.ringing #btn-answer")
            await pc.setLocalDescription(await pc.createOffer())
            answering = asyncio.create_task(peer.invite(pc.localDescription.sdp))
            await asyncio.sleep(0.5)  # the INVITE reaches JsSIP before the agent answers
            await page.click("#btn-answer")
            async with asyncio.timeout(20):
                headers, sdp = await answering
            await peer.ack(headers["to"])
            assert "a=fingerprint:" in sdp and "m=audio" in sdp
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            async with asyncio.timeout(20):
                track = await heard
                frames = await frames_from(track, 100)  # 2 s of the browser's microphone
            assert pc.connectionState == "connected"
            # Chromium's fake microphone beeps: decoded Opus with sound in it, not silence.
            assert any(any(bytes(f.planes[0])) for f in frames)
            # The browser receives what aiortc sends and plays it on the page's audio element.
            async with asyncio.timeout(10):
                while await page.evaluate(RECEIVED) < 25:
                    await asyncio.sleep(0.1)
            assert await page.evaluate(
                "() => document.querySelector('#remote-audio').srcObject.getAudioTracks().length"
            )
            await shoot(page, "20-browser-audio-answered")
            assert errors == []
    finally:
        await pc.close()
