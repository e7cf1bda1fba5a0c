"""Flow variables inside play media: `sound:order-status-{status}`, `digits:{number}`.

ARI's `media` is a comma-separated list of URIs (`sound:`, `digits:`, `number:`,
`recording:`), so a value the caller typed or a query answered could, unchecked, add a URI
of its own (`1,recording:someone-else`) or walk out of the sounds directory (`../`). A value
is therefore put in only if it is a plain token (letters, digits, `_`, `-`); otherwise the
media is not played at all.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

SAFE_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class BadTemplate(ValueError):
    """The media text's `{...}` parts are not plain variable names."""


def names(media: str) -> list[str]:
    """The variables `media` refers to, in order; BadTemplate for a malformed `{...}`."""
    found: list[str] = []
    try:
        parts = list(string.Formatter().parse(media))
    except ValueError as exc:  # an unmatched { or }
        raise BadTemplate(str(exc)) from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not NAME.fullmatch(name) or spec or conversion:
            raise BadTemplate(f"{{{name}}} is not a variable name")
        found.append(name)
    return found


def fill(media: str, variables: Mapping[str, str]) -> str | None:
    """`media` with its variables put in, or None when one is unset or not a safe token."""
    values: dict[str, str] = {}
    for name in names(media):
        value = variables.get(name)
        if value is None or not SAFE_VALUE.fullmatch(value):
            return None
        values[name] = value
    return media.format_map(values) if values else media
