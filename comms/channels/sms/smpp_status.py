"""SMPP command_status values: their names and what each means for a submission.

The classification decides whether the messaging service marks a message failed or keeps it
queued, so the table is deliberately conservative: a status is *permanent* only when sending
the very same PDU again cannot succeed (bad address, bad parameter, rejected content). Anything
about the SMSC's own state (system error, bind state, submit failed, unknown) is *transient*:
the service's retry limit and message expiry bound the cost of being wrong. Vendor-specific
codes (0x400-0x4FF) mean different things on every SMSC; they default to transient and can be
reclassified per SMSC through SmppConfig.status_overrides.
"""

from __future__ import annotations

import enum

from comms.channels.sms.provider import SubmitError, Throttled


class StatusClass(enum.StrEnum):
    THROTTLE = "throttle"  # slow down, then retry (Throttled)
    TRANSIENT = "transient"  # keep queued, retry with backoff
    PERMANENT = "permanent"  # mark the message failed


# SMPP 3.4 §5.1.3 names.
NAMES: dict[int, str] = {
    0x00: "ESME_ROK",
    0x01: "ESME_RINVMSGLEN",
    0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS",
    0x05: "ESME_RALYBND",
    0x06: "ESME_RINVPRTFLG",
    0x07: "ESME_RINVREGDLVFLG",
    0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD",
    0x0F: "ESME_RINVSYSID",
    0x11: "ESME_RCANCELFAIL",
    0x13: "ESME_RREPLACEFAIL",
    0x14: "ESME_RMSGQFUL",
    0x15: "ESME_RINVSERTYP",
    0x33: "ESME_RINVNUMDESTS",
    0x34: "ESME_RINVDLNAME",
    0x40: "ESME_RINVDESTFLAG",
    0x42: "ESME_RINVSUBREP",
    0x43: "ESME_RINVESMCLASS",
    0x44: "ESME_RCNTSUBDL",
    0x45: "ESME_RSUBMITFAIL",
    0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON",
    0x51: "ESME_RINVDSTNPI",
    0x53: "ESME_RINVSYSTYP",
    0x54: "ESME_RINVREPFLAG",
    0x55: "ESME_RINVNUMMSGS",
    0x58: "ESME_RTHROTTLED",
    0x61: "ESME_RINVSCHED",
    0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID",
    0x64: "ESME_RX_T_APPN",
    0x65: "ESME_RX_P_APPN",
    0x66: "ESME_RX_R_APPN",
    0x67: "ESME_RQUERYFAIL",
    0xC0: "ESME_RINVOPTPARSTREAM",
    0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN",
    0xC3: "ESME_RMISSINGOPTPARAM",
    0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE",
    0xFF: "ESME_RUNKNOWNERR",
}

ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RINVCMDID = 0x03
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64  # we answer deliver_sm with this when the sink failed: "try again"
ESME_RX_P_APPN = 0x65  # ...and with this when the PDU is unusable: "do not send it again"

THROTTLE = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})

# Transient: the SMSC's state, not the message, is at fault.
TRANSIENT = frozenset(
    {
        0x04,  # RINVBNDSTS: our bind is not what the SMSC thinks; a re-bind fixes it
        0x05,  # RALYBND
        0x08,  # RSYSERR
        0x0D,  # RBINDFAIL
        0x45,  # RSUBMITFAIL: generic; carriers use it for routing outages and credit
        0x64,  # RX_T_APPN: "temporary application error"
        0xFE,  # RDELIVERYFAILURE
        0xFF,  # RUNKNOWNERR
    }
)
# Everything else in NAMES (bad address, TON/NPI, esm_class, parameter, RX_P/R_APPN) is
# permanent: the same PDU will be refused again.


def status_name(status: int) -> str:
    """ESME_R... name, or the hex value for vendor-specific codes."""
    return NAMES.get(status, f"0x{status:08X}")


def classify(status: int, overrides: dict[int, StatusClass] | None = None) -> StatusClass:
    """What a non-zero submit_sm_resp status means for the message."""
    if overrides and status in overrides:
        return overrides[status]
    if status in THROTTLE:
        return StatusClass.THROTTLE
    if status in TRANSIENT or status not in NAMES:
        return StatusClass.TRANSIENT
    return StatusClass.PERMANENT


def submit_error(
    status: int,
    overrides: dict[int, StatusClass] | None = None,
    *,
    retry_after: float | None = None,
) -> SubmitError:
    """The exception submit() raises for a refused submit_sm."""
    code = status_name(status)
    text = f"SMSC refused submit_sm with command_status 0x{status:08X}"
    kind = classify(status, overrides)
    if kind is StatusClass.THROTTLE:
        return Throttled(code, text, retry_after=retry_after)
    return SubmitError(code, text, permanent=kind is StatusClass.PERMANENT)
