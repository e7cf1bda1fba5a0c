"""Reversible encryption for the secrets RADIUS needs in cleartext (NAS secrets, CHAP passwords).

A hash would not do: the RADIUS shared secret keys MD5/HMAC-MD5 over every packet, and CHAP
(RFC 1994) proves knowledge of the password by MD5(id + password + challenge), so the server
must hold both in recoverable form. They are sealed with AES-256-GCM under a key derived from
the hub's secret key (HKDF-SHA256), so a database dump alone reveals neither.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
NAS_SECRET = b"apn.nas.secret"
DEVICE_PASSWORD = b"apn.device.password"


class SealError(ValueError):
    """A sealed value that this key cannot open (wrong key, tampered, truncated)."""


class SecretBox:
    def __init__(self, hub_secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"huitong apn secrets"
        ).derive(hub_secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, purpose: bytes) -> str:
        # The purpose is bound as associated data: a NAS secret pasted into a device's
        # password column does not decrypt.
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose)
        return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, purpose: bytes) -> str:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise SealError("unknown sealed-value version")
        try:
            raw = base64.urlsafe_b64decode(body)
            return self._aead.decrypt(raw[:12], raw[12:], purpose).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealError("sealed value does not open with this key") from exc
