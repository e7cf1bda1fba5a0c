"""Errors of the messages slice that callers (API, campaigns) act on."""

from __future__ import annotations

from comms.errors import Conflict


class QuotaExceeded(Conflict):
    """The tenant's daily SMS quota is used up (the API answers 429)."""


class Suppressed(Conflict):
    """A carrier rule stops this message: recipient cap reached or the same text just sent.

    Campaigns catch it per recipient and skip; the API answers 429.
    """

    def __init__(self, message: str, *, reason: str, field: str | None = "to") -> None:
        super().__init__(message, field=field)
        self.reason = reason
