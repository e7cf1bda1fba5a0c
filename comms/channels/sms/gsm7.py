"""GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table.

Septets are handled *unpacked*, one per byte, because that is how SMPP carries GSM text with
data_coding 0x00; the SMSC does the 7-bit packing for the air interface.
"""

from __future__ import annotations

import re

ESC = 0x1B

# The basic table in code order 0x00..0x7F. 0x1B is the escape to the extension table, not a
# character, so it is left out of the encoding map below (a literal U+001B is not GSM).
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128

# The default extension table: each of these costs two septets on the wire (ESC + code).
_EXTENSION: dict[str, int] = {
    "\f": 0x0A,  # form feed, "page break"
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_BASIC_CODE: dict[str, int] = {ch: code for code, ch in enumerate(_BASIC) if code != ESC}
_EXTENSION_CHAR: dict[int, str] = {code: ch for ch, code in _EXTENSION.items()}


def septet_cost(ch: str) -> int | None:
    """Septets one character takes (1 basic, 2 extension), or None if GSM cannot carry it."""
    if ch in _BASIC_CODE:
        return 1
    if ch in _EXTENSION:
        return 2
    return None


# Everything GSM can carry, as one character class: a regex scan runs in C, where a Python
# loop over the characters was most of the cost of sizing a notice's SMS.
_NOT_GSM = re.compile("[^" + "".join(re.escape(ch) for ch in [*_BASIC_CODE, *_EXTENSION]) + "]")


def is_gsm7(text: str) -> bool:
    """True when every character has a GSM 7-bit code, so the cheaper encoding applies."""
    return _NOT_GSM.search(text) is None


def septets(text: str) -> int:
    """Septets a GSM 7-bit text takes (extension characters count two); the text must be
    GSM (is_gsm7)."""
    return len(text) + sum(text.count(ch) for ch in _EXTENSION)


def encode_gsm7(text: str) -> bytes:
    """Unpacked septets (one per byte) as SMPP short_message carries them for data_coding 0."""
    out = bytearray()
    for pos, ch in enumerate(text):
        code = _BASIC_CODE.get(ch)
        if code is not None:
            out.append(code)
            continue
        ext = _EXTENSION.get(ch)
        if ext is None:
            raise ValueError(f"character {ch!r} at index {pos} is not in the GSM 7-bit alphabet")
        out += bytes((ESC, ext))
    return bytes(out)


def decode_gsm7(data: bytes) -> str:
    """Inverse of encode_gsm7, lenient the way TS 23.038 tells receivers to be."""
    chars: list[str] = []
    i = 0
    while i < len(data):
        code = data[i]
        if code > 0x7F:
            raise ValueError(f"byte 0x{code:02X} at index {i} is not an unpacked GSM septet")
        if code != ESC:
            chars.append(_BASIC[code])
            i += 1
            continue
        if i + 1 == len(data):
            # A dangling ESC (a sender split the escape pair and we got one half): drop it.
            break
        nxt = data[i + 1]
        if nxt > 0x7F:
            raise ValueError(f"byte 0x{nxt:02X} at index {i + 1} is not an unpacked GSM septet")
        if nxt == ESC:
            # ESC ESC is reserved for a further table; TS 23.038 says to display a space.
            chars.append(" ")
        else:
            # An escape code with no extension character shows as the basic-table character.
            chars.append(_EXTENSION_CHAR.get(nxt, _BASIC[nxt]))
        i += 2
    return "".join(chars)
