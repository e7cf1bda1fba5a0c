"""Address normalisation and body templating: the rules that turn input into 422s."""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from comms.errors import InvalidInput

DEFAULT_REGION = "CN"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def normalise_phone(raw: str, field: str = "to") -> str:
    """E.164 of a number written any common way (default region CN), or a 422."""
    try:
        return _e164(raw)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{field}: not a phone number: {raw!r} ({exc})", field=field) from None
    except ValueError:
        raise InvalidInput(f"{field}: not a valid phone number: {raw!r}", field=field) from None


# A notice's number is normalised by the rule's recipients, the SMS queue and the CRM
# timeline in turn; parsing costs ~20 us each time. Only numbers that parse are kept.
@functools.lru_cache(maxsize=16384)
def _e164(raw: str) -> str:
    number = phonenumbers.parse(raw, DEFAULT_REGION)
    if not phonenumbers.is_valid_number(number):
        raise ValueError(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_phone(raw: str) -> str:
    """E.164 where parseable; service codes and short codes stay as they came."""
    try:
        return normalise_phone(raw)
    except InvalidInput:
        return raw.strip()


def normalise_email(raw: str, field: str = "to") -> str:
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{field}: malformed email address: {exc}", field=field) from None
    return info.normalized.lower()


def render(text: str | None, variables: dict[str, Any], field: str) -> str | None:
    """Fill {{name}} placeholders; a placeholder with no variable is a 422 on `field`."""
    if text is None:
        return None

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in variables:
            raise InvalidInput(f"{field}: unknown template variable {name!r}", field=field)
        return str(variables[name])

    return _PLACEHOLDER.sub(fill, text)
