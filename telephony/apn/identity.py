"""Formats of the identities a device is known by: IMSI, MSISDN (E.164), IMEI, addresses."""

from __future__ import annotations

import ipaddress
import re

import phonenumbers

DEFAULT_REGION = "CN"
_IMSI = re.compile(r"^[0-9]{14,15}$")  # MCC(3) + MNC(2-3) + MSIN, at most 15 digits
_IMEI = re.compile(r"^[0-9]{14,16}$")  # 14 without check digit, 15 with, 16 = IMEISV


def imsi(value: str) -> str:
    v = value.strip()
    if not _IMSI.match(v):
        raise ValueError("an IMSI is 14 or 15 digits")
    return v


def imei(value: str) -> str:
    v = value.strip().replace("-", "").replace(" ", "")
    if not _IMEI.match(v):
        raise ValueError("an IMEI is 14-16 digits")
    if len(v) == 15 and not _luhn_ok(v):
        raise ValueError("IMEI check digit (Luhn) is wrong")
    return v


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def msisdn(value: str, region: str = DEFAULT_REGION) -> str:
    """A valid phone number in E.164 (national forms read in `region`), else ValueError."""
    found = msisdn_or_none(value, region)
    if found is None:
        raise ValueError(f"{value!r} is not a valid phone number")
    return found


def msisdn_or_none(value: str, region: str = DEFAULT_REGION) -> str | None:
    v = value.strip()
    # Gateways send Calling-Station-Id as bare international digits ("8613800138000"); read
    # nationally first, then as international, whichever is a valid number.
    candidates = [v] if v.startswith("+") else [v, f"+{v}"]
    for c in candidates:
        try:
            parsed = phonenumbers.parse(c, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


def pool(value: str) -> str:
    """An IPv4 network with room for devices (a /30 or larger)."""
    try:
        net = ipaddress.IPv4Network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block: {exc}") from None
    if net.prefixlen > 30:
        raise ValueError("the pool must be a /30 or larger")
    return str(net)
