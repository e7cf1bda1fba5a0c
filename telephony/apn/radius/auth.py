"""Access-Request decisions (RFC 2865): who the device is, whether it may attach, its address."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from pyrad.packet import AuthPacket

from telephony.apn.crypto import DEVICE_PASSWORD, SealError, SecretBox
from telephony.apn.models import AuthMode
from telephony.apn.radius.directory import ApnEntry, DeviceEntry, Directory, NasEntry
from telephony.apn.radius.pool import PoolAllocator


@dataclass(frozen=True, slots=True)
class Identity:
    imsi: str | None
    calling: str | None
    user: str | None

    def __str__(self) -> str:
        return f"imsi={self.imsi} calling={self.calling} user={self.user}"


@dataclass(frozen=True, slots=True)
class Decision:
    accept: bool
    reason: str  # logged, never sent: a reject must not tell a prober what was wrong
    device: DeviceEntry | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsLease:
    """Accepted so far, but the address must come from the pool (an await)."""

    apn: ApnEntry
    device: DeviceEntry


def _text(pkt: AuthPacket, key: str | tuple[int, int]) -> str | None:
    values = pkt.get(key)
    if not values:
        return None
    v = values[0]
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def identity_of(pkt: AuthPacket) -> Identity:
    # 3GPP TS 29.061 §16.4.7: the IMSI travels as Vendor-Specific, vendor 10415 (3GPP),
    # sub-attribute 1, as UTF-8 digits; Calling-Station-Id carries the MSISDN.
    return Identity(
        imsi=_text(pkt, "3GPP-IMSI"),
        calling=_text(pkt, "Calling-Station-Id"),
        user=_text(pkt, "User-Name"),
    )


def _password_ok(pkt: AuthPacket, password: str, mode: AuthMode) -> tuple[bool, str]:
    if "CHAP-Password" in pkt:
        # CHAP-Password = ident(1) + MD5(ident + password + challenge); the challenge is the
        # CHAP-Challenge attribute when present, else the Request Authenticator (RFC 2865
        # §5.3) -- gateways relaying the device's PPP/PCO CHAP always send CHAP-Challenge.
        chap = pkt["CHAP-Password"][0]
        if len(chap) != 17:
            return False, "malformed CHAP-Password"
        challenge = pkt["CHAP-Challenge"][0] if "CHAP-Challenge" in pkt else pkt.authenticator
        expect = hashlib.md5(chap[:1] + password.encode() + challenge).digest()  # noqa: S324
        return hmac.compare_digest(chap[1:], expect), "wrong CHAP password"
    if "User-Password" in pkt:
        if mode is AuthMode.CHAP:
            return False, "APN requires CHAP, got PAP"
        # PAP: hidden with MD5(secret + authenticator) chained per 16 octets (RFC 2865 §5.2).
        given = pkt.PwDecrypt(pkt["User-Password"][0])
        return hmac.compare_digest(given.encode(), password.encode()), "wrong PAP password"
    return False, "no password in request"


def decide(
    directory: Directory, box: SecretBox, nas: NasEntry, pkt: AuthPacket
) -> Decision | NeedsLease:
    """Everything that needs no await: identity, state, credentials, static address."""
    apn = directory.apns.get(nas.apn_id)
    ident = identity_of(pkt)
    if apn is None or not apn.enabled:
        return Decision(False, f"APN of NAS {nas.address} is disabled or gone ({ident})")
    device = directory.find_device(
        nas.tenant_id, imsi=ident.imsi, calling=ident.calling, user=ident.user
    )
    if device is None:
        return Decision(False, f"unknown device on {apn.name} ({ident})")
    if device.apn_id != apn.id:
        return Decision(False, f"device {device.id} belongs to another APN than {apn.name}")
    if not device.enabled:
        return Decision(False, f"device {device.id} is disabled")
    if apn.auth_mode is not AuthMode.NONE:
        if device.password_enc is None:
            return Decision(False, f"device {device.id} has no password; {apn.name} needs one")
        try:
            password = box.open(device.password_enc, DEVICE_PASSWORD)
        except SealError:
            return Decision(False, f"device {device.id}: password does not decrypt")
        ok, why = _password_ok(pkt, password, apn.auth_mode)
        if not ok:
            return Decision(False, f"device {device.id}: {why}")
    if device.static_address:
        return Decision(True, "static", device, device.static_address)
    if apn.pool is None:
        # No pool and no binding: the gateway assigns from its own pool.
        return Decision(True, "gateway assigns", device, None)
    return NeedsLease(apn, device)


async def lease(pool: PoolAllocator, need: NeedsLease) -> Decision:
    address = await pool.allocate(need.apn, need.device)
    if address is None:
        return Decision(False, f"pool {need.apn.pool} of {need.apn.name} is exhausted")
    return Decision(True, "pool", need.device, address)
