"""Exceptions for ARI calls, one class per status the Stasis app reacts to differently."""

from __future__ import annotations


class AriError(Exception):
    """Base class so callers can catch every ARI failure in one place."""


class AriConnectionError(AriError):
    """Asterisk could not be reached (refused, reset, timed out): retry later, state unknown."""


class AriHttpError(AriError):
    """Asterisk answered with an error status; ``message`` is its JSON ``message`` field."""

    status: int = 0

    def __init__(self, status: int, method: str, path: str, message: str, operation: str = ""):
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        self.operation = operation
        super().__init__(f"{method} {path} -> {status}: {message}")


class AriBadRequest(AriHttpError):
    """400: invalid parameters (also: addChannel with a channel that no longer exists)."""


class AriUnauthorized(AriHttpError):
    """401/403: wrong ARI user or password."""


class AriNotFound(AriHttpError):
    """404: the channel, bridge, playback or recording is gone (e.g. the caller hung up)."""


class AriConflict(AriHttpError):
    """409: e.g. channel not in a Stasis application, or an id/name already in use."""


class AriInvalidState(AriHttpError):
    """412: the channel is in a state where the operation makes no sense."""


class AriUnprocessable(AriHttpError):
    """422: e.g. channel not in Stasis for addChannel, unknown recording format."""


class AriServerError(AriHttpError):
    """5xx: Asterisk failed internally; the request may or may not have taken effect."""


_BY_STATUS: dict[int, type[AriHttpError]] = {
    400: AriBadRequest,
    401: AriUnauthorized,
    403: AriUnauthorized,
    404: AriNotFound,
    409: AriConflict,
    412: AriInvalidState,
    422: AriUnprocessable,
}


def http_error(
    status: int, method: str, path: str, message: str, operation: str = ""
) -> AriHttpError:
    """The most specific exception for an HTTP status."""
    cls = _BY_STATUS.get(status) or (AriServerError if status >= 500 else AriHttpError)
    return cls(status, method, path, message, operation)
