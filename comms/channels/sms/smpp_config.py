"""SMPP settings, parsed from one URL so a single env var (HUITONG_SMPP_URL) describes an SMSC.

    smpp://system_id:password@host:port?source_addr=10690000&source_ton=5&window=10&tps=100

Every SmppConfig field other than host, port, system_id and password is a query parameter of
the same name (see the field comments for meaning and defaults); `permanent_status`,
`transient_status` and `throttle_status` take comma-separated command_status codes (decimal or
0x-hex) and reclassify them for this SMSC. Unknown query parameters are an error (a typo must
not silently fall back to a default), and the password is kept out of repr() and of every log
line: use `redacted_url()` to show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from comms.channels.sms.smpp_ids import IdFormat
from comms.channels.sms.smpp_status import StatusClass

DEFAULT_PORT = 2775


def _status_list(value: str) -> list[int]:
    # Accepts decimal or 0x-prefixed hex, comma separated: "0x45,1025".
    return [int(item.strip(), 0) for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class SmppConfig:
    """One SMSC bind: credentials, addressing, flow control and carrier quirks."""

    host: str
    port: int = DEFAULT_PORT
    system_id: str = ""
    password: str = field(default="", repr=False)
    system_type: str = ""
    name: str = "smpp"  # provider name reported to the sink
    # Addressing. source_ton/npi None = inferred per address (alphanumeric 5/0, + 1/1, else 0/1).
    source_addr: str = ""
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int = 1  # we send E.164, so international / ISDN
    dest_npi: int = 1
    service_type: str = ""
    # Flow control.
    window: int = 10  # outstanding submit_sm across all callers
    tps: float = 50.0  # token bucket rate: the carrier's per-bind cap
    tps_unit: Literal["pdu", "message"] = "pdu"
    burst: int = 0  # bucket size; 0 = a tenth of a second's worth (at least 1)
    # Carrier quirks.
    id_format: IdFormat = IdFormat.AS_IS
    status_overrides: dict[int, StatusClass] = field(default_factory=dict)
    # Timers (seconds).
    enquire_link: float = 30.0
    response_timeout: float = 10.0
    connect_timeout: float = 10.0
    bind_wait: float = 5.0  # how long submit() waits for a bound link before giving up
    queue_timeout: float = 60.0  # how long a segment may wait for a window slot or a token
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    resubmit_attempts: int = 3  # re-sends of one segment after link drops, then SubmitError
    throttle_backoff: float = 1.0  # pause after ESME_RTHROTTLED; also Throttled.retry_after
    throttle_cooldown: float = 10.0  # how long the bucket stays slowed down
    throttle_factor: float = 0.5  # rate multiplier per throttle response
    # Multipart MO: how long after its first part an incomplete message waits for the rest.
    mo_timeout: float = 300.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("SMPP host is required")
        # SMPP 3.4 field sizes (C-octet strings incl. NUL): system_id 16, password 9, type 13.
        if len(self.system_id) > 15 or len(self.password) > 8 or len(self.system_type) > 12:
            raise ValueError("SMPP system_id/password/system_type exceed 15/8/12 characters")
        if len(self.service_type) > 5 or len(self.source_addr) > 20:
            raise ValueError("SMPP service_type/source_addr exceed 5/20 characters")
        if self.window < 1 or not (self.tps > 0 and math.isfinite(self.tps)):
            raise ValueError("SMPP window must be >= 1 and tps a positive number")
        if self.tps_unit not in ("pdu", "message"):
            raise ValueError("SMPP tps_unit must be 'pdu' or 'message'")
        if not 0 < self.throttle_factor <= 1:
            raise ValueError("SMPP throttle_factor must be in (0, 1]")
        # The SMPP 3.4 §5.2.5/§5.2.6 values aiosmpplib's codec accepts.
        for ton in (self.source_ton, self.dest_ton):
            if ton is not None and ton not in range(7):
                raise ValueError(f"SMPP TON must be 0-6, got {ton}")
        for npi in (self.source_npi, self.dest_npi):
            if npi is not None and npi not in (0, 1, 3, 4, 6, 8, 9):
                raise ValueError(f"SMPP NPI must be one of 0,1,3,4,6,8,9, got {npi}")

    @property
    def bucket_size(self) -> int:
        return self.burst or max(1, math.ceil(self.tps / 10))

    @classmethod
    def from_url(cls, url: str) -> SmppConfig:
        """Parse smpp://system_id:password@host:port?key=value&... (see module docstring)."""
        parts = urlsplit(url)
        if parts.scheme != "smpp":
            raise ValueError(f"SMPP URL must start with smpp://, got scheme {parts.scheme!r}")
        kw: dict[str, Any] = {
            "host": parts.hostname or "",
            "port": parts.port or DEFAULT_PORT,
            "system_id": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
        }
        types = {f.name: f.type for f in fields(cls)}
        overrides: dict[int, StatusClass] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in ("permanent_status", "transient_status", "throttle_status"):
                kind = StatusClass(key.removesuffix("_status"))
                overrides.update(dict.fromkeys(_status_list(value), kind))
            elif key in ("host", "port", "system_id", "password", "status_overrides"):
                raise ValueError(f"SMPP URL parameter {key!r} belongs in the URL itself")
            elif key not in types:
                raise ValueError(f"unknown SMPP URL parameter {key!r}")
            else:
                kw[key] = _coerce(key, str(types[key]), value)
        kw["status_overrides"] = overrides
        return cls(**kw)

    def redacted_url(self) -> str:
        """The URL without the password, for logs and error messages."""
        user = quote(self.system_id, safe="")
        return f"smpp://{user}:***@{self.host}:{self.port}"


def _coerce(key: str, type_name: str, value: str) -> Any:
    try:
        if type_name == "int | None":
            return int(value, 0) if value else None
        if type_name == "int":
            return int(value, 0)
        if type_name == "float":
            return float(value)
        if type_name == "IdFormat":
            return IdFormat(value)
    except ValueError as exc:
        raise ValueError(f"bad value for SMPP URL parameter {key!r}: {value!r}") from exc
    return value
