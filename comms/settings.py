"""The one settings object: every knob is a `HUITONG_*` environment variable."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BROKER = "memory://"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUITONG_", extra="ignore")

    data_dir: Path = Field(Path("huitong-data"), description="Where embedded state lives.")
    database_url: str = Field(
        "", description="SQLAlchemy async URL; default an SQLite file under data_dir."
    )
    broker_url: str = Field(
        EMBEDDED_BROKER,
        description="Celery broker (redis://, amqp://); default memory:// runs the worker "
        "inside the API process.",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs console JWTs; generated and stored under data_dir when unset.",
    )
    host: str = Field("127.0.0.1", description="API listen address.")
    port: int = Field(8000, description="API listen port.")
    jwt_ttl_seconds: int = Field(12 * 3600, description="Lifetime of a console login token.")
    log_level: str = Field("INFO", description="Python log level.")
    argon2_time_cost: int = Field(3, description="argon2id passes per password hash.")
    argon2_memory_kib: int = Field(65536, description="argon2id memory per password hash.")

    bus_relay: bool = Field(
        True, description="Run the outbox relay in this process (serve and worker)."
    )
    bus_poll_interval: float = Field(
        0.2, description="Seconds between outbox polls when no local commit woke the relay."
    )
    bus_batch_size: int = Field(500, description="Outbox events the relay claims at once.")
    bus_max_attempts: int = Field(
        8, description="Handler attempts before a delivery is dead-lettered."
    )
    bus_retry_base: float = Field(
        1.0, description="Seconds before the first retry; doubles each attempt."
    )
    bus_retry_max: float = Field(600.0, description="Longest wait between two attempts.")
    bus_redeliver_after: float = Field(
        60.0,
        description="Seconds after which a delivery handed to the broker but never "
        "finished is handed over again (broker or worker lost it).",
    )
    bus_retention_days: float = Field(
        7.0,
        description="Days an event is kept after every subscriber finished it; dead or "
        "unfinished events are kept until replayed.",
    )
    extra_modules: str = Field(
        "",
        description="Comma-separated `package.module:attr` Module objects to load besides the "
        "installed ones (benchmarks, test fixtures, site plug-ins not packaged as entry points).",
    )
    worker_concurrency: int = Field(2, description="Celery worker processes (huitong worker).")

    public_url: str = Field(
        "",
        description="Public base URL of the API as the outside world sees it (behind a proxy); "
        "used for provider callback URLs and to check webhook signatures.",
    )
    sms_provider: str = Field(
        "",
        description="log, twilio or smpp; empty picks smpp if HUITONG_SMPP_URL is set, twilio "
        "if the Twilio account is set, else log.",
    )
    sms_max_segments: int = Field(10, description="Longest SMS body accepted, in segments.")
    sms_rate: float = Field(
        0.0, description="Per-provider submissions per second in each process; 0 = no cap."
    )
    sms_daily_quota: int = Field(
        0, description="Outbound SMS per tenant per day (tenant's time zone); 0 = no quota."
    )
    sms_recipient_daily_cap: int = Field(
        0, description="Outbound SMS per recipient number per tenant per day; 0 = no cap."
    )
    sms_duplicate_window: float = Field(
        300.0, description="Seconds in which the same text to the same number is suppressed."
    )
    sms_reply_window: float = Field(
        259200.0,
        description="Seconds after a campaign SMS in which an SMS reply from that number is "
        "linked to it (3 days).",
    )
    sms_segment_price: Decimal = Field(
        Decimal("0.04"), ge=0, description="Estimated price of one SMS segment (campaign report)."
    )
    sms_price_currency: str = Field("CNY", description="Currency of HUITONG_SMS_SEGMENT_PRICE.")
    smpp_url: str = Field("", description="smpp://system_id:password@host:port of the SMSC.")
    twilio_account_sid: str = Field("", description="Twilio account SID (AC...).")
    twilio_auth_token: SecretStr = Field(
        SecretStr(""), description="Twilio auth token; also checks X-Twilio-Signature."
    )
    twilio_from: str = Field("", description="Twilio sender number (E.164) or sender id.")
    twilio_api_base: str = Field(
        "", description="Overrides Twilio's API base URL (a test double or proxy)."
    )
    smtp_url: str = Field(
        "",
        description="Outgoing mail relay: smtp://user:pass@host:port (STARTTLS when offered) "
        "or smtps://… (implicit TLS); empty = log transport.",
    )
    smtp_starttls: bool = Field(
        True, description="On smtp:// use STARTTLS when the server offers it."
    )
    smtp_timeout: float = Field(30.0, description="Seconds before an SMTP send gives up.")
    smtp_ca_file: str = Field(
        "",
        description="PEM CA bundle to verify the relay's TLS certificate with (a private CA); "
        "empty = the system CAs.",
    )
    smtp_from: str = Field(
        "huitong@localhost", description="Default From address of outgoing mail."
    )
    smtp_in_host: str = Field("127.0.0.1", description="huitong smtp-in listen address.")
    smtp_in_port: int = Field(2525, description="huitong smtp-in listen port.")
    smtp_in_max_bytes: int = Field(
        10 * 1024 * 1024, description="Largest inbound mail accepted (552 beyond)."
    )
    messages_sweep_interval: float = Field(
        5.0, description="Seconds between sweeps that resume and retry queued messages."
    )
    messages_stale_after: float = Field(
        120.0,
        description="A message left `sending` this long without a provider id (its sender "
        "died) is queued again; keep it above the providers' timeouts.",
    )
    messages_expire_after: float = Field(
        86400.0, description="Seconds a message may wait in the queue before it fails."
    )
    realtime_redis_url: str = Field(
        "",
        description="Redis for the cross-process WebSocket fan-out (consoles); empty = the "
        "broker when it is redis://, else in-process only.",
    )

    @model_validator(mode="after")
    def _defaults_from_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'huitong.db'}"
        return self

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("memory://")

    @property
    def realtime_url(self) -> str:
        """Where console pushes travel between processes; empty means this process only."""
        if self.realtime_redis_url:
            return self.realtime_redis_url
        return self.broker_url if self.broker_url.startswith(("redis://", "rediss://")) else ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_secret_key(self) -> str:
        """Return the signing key, creating `data_dir/secret_key` (mode 600) on first use."""
        if self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        key = path.read_text().strip()
        self.secret_key = SecretStr(key)
        return key
