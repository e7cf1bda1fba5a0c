"""SMSC message-id normalisation, so submit_sm_resp ids and receipt ids compare equal.

SMPP 3.4 says a receipt names the message by the id the SMSC gave in submit_sm_resp, but many
SMSCs answer submit_sm in one base and report in another (hex answer, decimal `id:` in the
receipt text is the classic case), and some pad with leading zeros on one side only. This is
Kannel's `msg-id-type` knob, with names:

=====================  =========================  ===========================  ===============
mode                   submit_sm_resp id          receipt id (TLV or `id:`)    canonical form
=====================  =========================  ===========================  ===============
as_is                  kept                       kept                         whatever it is
strip_leading_zeros    leading 0s dropped         leading 0s dropped           "0" stays "0"
hex                    hexadecimal                hexadecimal                  upper-case hex
hex_to_dec             hexadecimal                decimal                      decimal
dec_to_hex             decimal                    hexadecimal                  upper-case hex
=====================  =========================  ===========================  ===============

Like Kannel, the receipt base applies to the receipt's id whichever field carried it
(receipted_message_id TLV first, else the text). An id that does not parse in the expected base
is kept as it came (stripped), so a misconfigured SMSC degrades to unmatched receipts rather
than an exception in the receive loop.
"""

from __future__ import annotations

import enum
import logging

log = logging.getLogger(__name__)


class IdFormat(enum.StrEnum):
    """How one SMSC writes message ids in submit_sm_resp vs. delivery receipts."""

    AS_IS = "as_is"
    STRIP_LEADING_ZEROS = "strip_leading_zeros"
    HEX = "hex"
    HEX_TO_DEC = "hex_to_dec"
    DEC_TO_HEX = "dec_to_hex"


# (base of submit_sm_resp ids, base of receipt ids); None = compare as text.
_BASES: dict[IdFormat, tuple[int | None, int | None]] = {
    IdFormat.AS_IS: (None, None),
    IdFormat.STRIP_LEADING_ZEROS: (None, None),
    IdFormat.HEX: (16, 16),
    IdFormat.HEX_TO_DEC: (16, 10),
    IdFormat.DEC_TO_HEX: (10, 16),
}
# Canonical output base: the receipt's, so the id the sink stores reads like the carrier's report.
_OUT: dict[IdFormat, int | None] = {fmt: bases[1] for fmt, bases in _BASES.items()}


def _clean(raw: str) -> str:
    # C-octet strings sometimes arrive with their NUL (or padding) still attached.
    return raw.strip().strip("\x00").strip()


def _convert(raw: str, base: int | None, out: int | None, fmt: IdFormat) -> str:
    text = _clean(raw)
    if fmt is IdFormat.AS_IS:
        return text
    if base is None or out is None:
        return text.lstrip("0") or ("0" if text else "")
    try:
        value = int(text, base)
    except ValueError:
        log.debug("SMPP message id %r is not base %d; kept as it came", text, base)
        return text
    return str(value) if out == 10 else format(value, "X")


class IdNormaliser:
    """Maps both kinds of id onto one canonical string for a given SMSC's IdFormat."""

    def __init__(self, fmt: IdFormat | str = IdFormat.AS_IS) -> None:
        self.format = IdFormat(fmt)
        self._submit_base, self._receipt_base = _BASES[self.format]
        self._out = _OUT[self.format]

    def from_submit(self, raw: str) -> str:
        """Normalise the message_id of a submit_sm_resp."""
        return _convert(raw, self._submit_base, self._out, self.format)

    def from_receipt(self, raw: str) -> str:
        """Normalise the id a delivery receipt names (receipted_message_id or `id:`)."""
        return _convert(raw, self._receipt_base, self._out, self.format)
