"""Domain errors raised by services; the app maps each kind to one HTTP status."""

from __future__ import annotations


class HuitongError(Exception):
    """Base for errors a caller can act on; the message is safe to show them."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(HuitongError):
    """The resource does not exist for this tenant (other tenants' rows included)."""


class Conflict(HuitongError):
    """The change clashes with existing state (a duplicate name, a wrong state)."""


class InvalidInput(HuitongError):
    """Input passed schema validation but breaks a rule; `field` names the culprit."""


class PermissionDenied(HuitongError):
    """The caller's role does not allow this action."""


class Unauthenticated(HuitongError):
    """No valid credentials."""
