"""APN tables: APNs and their NAS clients, devices, address leases, RADIUS sessions."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


def str_enum(cls: type[enum.StrEnum]) -> Enum:
    """Enums stored as their value in a VARCHAR: portable and readable in raw SQL."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class AuthMode(enum.StrEnum):
    NONE = "none"  # the SIM is the credential: identity alone decides
    PAP = "pap"
    CHAP = "chap"


class SessionState(enum.StrEnum):
    STARTED = "started"
    UPDATING = "updating"  # at least one Interim-Update arrived
    STOPPED = "stopped"


class DataKind(enum.StrEnum):
    READING = "reading"
    CHECKIN = "checkin"
    DELIVERY = "delivery"


class Apn(TenantScoped, Timestamped, Base):
    """A tenant's private APN: how its devices authenticate and where their addresses come from."""

    __tablename__ = "apn_apns"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_apn_apns_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    auth_mode: Mapped[AuthMode] = mapped_column(str_enum(AuthMode), default=AuthMode.NONE)
    pool_cidr: Mapped[str | None] = mapped_column(String(43), default=None)
    enforce_source_address: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)


class NasClient(TenantScoped, Timestamped, Base):
    """A carrier gateway (GGSN/PGW) allowed to ask us, known by its source address."""

    __tablename__ = "apn_nas_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    apn_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("apn_apns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    # Unique hub-wide: a datagram names no tenant, so its source address must pick the secret.
    address: Mapped[str] = mapped_column(String(45), unique=True)
    # RADIUS needs the shared secret itself (it keys MD5/HMAC-MD5), so it is kept encrypted
    # (AES-GCM, see crypto.py) rather than hashed.
    secret_enc: Mapped[str] = mapped_column(String(512))


class Device(TenantScoped, Timestamped, Base):
    """A SIM-carrying device allowed on one APN; also an API client with its own token."""

    __tablename__ = "apn_devices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "imsi", name="uq_apn_devices_imsi"),
        UniqueConstraint("tenant_id", "msisdn", name="uq_apn_devices_msisdn"),
        UniqueConstraint("tenant_id", "username", name="uq_apn_devices_username"),
        UniqueConstraint("apn_id", "static_address", name="uq_apn_devices_static_address"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    apn_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("apn_apns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    imsi: Mapped[str | None] = mapped_column(String(15), default=None)
    msisdn: Mapped[str | None] = mapped_column(String(20), default=None)  # E.164
    imei: Mapped[str | None] = mapped_column(String(16), default=None)
    username: Mapped[str | None] = mapped_column(String(253), default=None)
    # CHAP proves knowledge of the cleartext (MD5 over id + password + challenge), so the
    # password must be recoverable: encrypted with the hub's key, never hashed, never returned.
    password_enc: Mapped[str | None] = mapped_column(String(512), default=None)
    # VPMN members arrive with a later issue: until then an owner is a console user id and/or
    # a free-text name.
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    static_address: Mapped[str | None] = mapped_column(String(45), default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    token_prefix: Mapped[str | None] = mapped_column(String(16), unique=True, default=None)
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    token_issued_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def has_password(self) -> bool:
        return self.password_enc is not None

    @property
    def has_token(self) -> bool:
        return self.token_hash is not None


class Lease(TenantScoped, Base):
    """A pool address held by a device; the unique (apn, address) pair makes allocation safe
    however many Access-Requests race for it."""

    __tablename__ = "apn_leases"
    __table_args__ = (
        UniqueConstraint("apn_id", "address", name="uq_apn_leases_address"),
        UniqueConstraint("device_id", name="uq_apn_leases_device"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    apn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apn_apns.id", ondelete="CASCADE"))
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apn_devices.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(45))
    # Set while only an Access-Accept vouches for the lease; cleared by Accounting-Start.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceSession(TenantScoped, Base):
    """One attach as the gateway's accounting tells it: address, times, traffic, stop cause."""

    __tablename__ = "apn_sessions"
    __table_args__ = (
        # Acct-Session-Id is unique per NAS; retransmitted accounting finds the same row.
        UniqueConstraint("nas_address", "acct_session_id", name="uq_apn_sessions_acct"),
        Index("ix_apn_sessions_device_state", "device_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    apn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apn_apns.id", ondelete="CASCADE"))
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apn_devices.id", ondelete="CASCADE"))
    nas_address: Mapped[str] = mapped_column(String(45))
    acct_session_id: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(45), default=None)
    state: Mapped[SessionState] = mapped_column(str_enum(SessionState))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    session_time: Mapped[int] = mapped_column(default=0)
    stop_cause: Mapped[str] = mapped_column(String(40), default="")


class DeviceData(TenantScoped, Base):
    """What a device posted: a reading, a check-in with location, a delivery confirmation."""

    __tablename__ = "apn_device_data"
    __table_args__ = (Index("ix_apn_device_data_device_at", "device_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apn_devices.id", ondelete="CASCADE"))
    kind: Mapped[DataKind] = mapped_column(str_enum(DataKind))
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApnChange(TenantScoped, Base):
    """Change log the RADIUS server polls to refresh its in-process directory incrementally."""

    __tablename__ = "apn_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # apn | nas | device
    entity_id: Mapped[uuid.UUID]
    at: Mapped[datetime] = mapped_column(default=utcnow)
