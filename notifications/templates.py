"""Notice text: sandboxed Jinja2 templates per (topic, channel, locale), checked at save
against the topic's payload fields, with the payload's `summary` as the fallback."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.topics import TopicRegistry
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput
from notifications import defaults
from notifications.models import NoticeChannel, NotificationTemplate
from notifications.rules import payload_class
from notifications.schemas import TemplateIn

# Names every template may use besides the payload's fields.
BUILTINS = frozenset({"topic"})

_text = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# Email HTML: payload text (a customer's name, a product) must not become markup.
_html = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    html: str | None = None


def check_template(topics: TopicRegistry, data: TemplateIn) -> list[str]:
    """Refuse syntax errors and unknown variables (422 naming them); returns warnings."""
    cls = payload_class(topics, data.topic)
    known = None if cls is None else set(cls.model_fields) | BUILTINS
    for name in ("subject", "body"):
        source = getattr(data, name)
        try:
            used = meta.find_undeclared_variables(_text.parse(source))
        except TemplateError as exc:
            raise InvalidInput(f"{name}: template syntax error: {exc}", field=name) from None
        if known is not None:
            unknown = sorted(used - known)
            if unknown:
                raise InvalidInput(
                    f"{name}: the payload of {data.topic} has no variable {unknown[0]!r}",
                    field=name,
                )
    if cls is None:
        return [
            f"topic {data.topic!r} has no registered payload schema here; "
            "variables are not checked and a missing one falls back to the summary"
        ]
    return []


def default_text(topic: str, payload: dict[str, Any]) -> Rendered:
    summary = payload.get("summary")
    text = str(summary) if summary else topic
    return Rendered(title=text.strip().splitlines()[0][:200] if text.strip() else topic, body=text)


TEMPLATES_CACHE = "notifications.templates"
_T = NotificationTemplate


async def _template_text(
    session: AsyncSession, topic: str, channel: NoticeChannel, locale: str
) -> tuple[str, str] | None:
    """(subject, body) of the template to use (as `find_template` picks it). The topic's
    templates are read in one query, once per transaction: an edit counts from the next."""
    key = (TEMPLATES_CACHE, current_tenant(session), topic)
    found: dict[NoticeChannel, list[tuple[str, str, str]]] | None = session.info.get(key)
    if found is None:
        rows = await session.execute(
            select(_T.channel, _T.locale, _T.subject, _T.body).where(_T.topic == topic)
        )
        found = {}
        for ch, loc, subject, body in rows:
            found.setdefault(ch, []).append((loc, subject, body))
        session.info[key] = found
    rows_of = found.get(channel)
    if not rows_of:
        return None
    for loc, subject, body in rows_of:
        if loc == locale:
            return subject, body
    return rows_of[0][1], rows_of[0][2]


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    """A template compiled once per source text (compiling costs far more than rendering)."""
    return (_html if html else _text).from_string(source)


async def render(
    session: AsyncSession,
    topic: str,
    channel: NoticeChannel,
    locale: str,
    payload: dict[str, Any],
) -> Rendered:
    """The notice text for one channel; a template that fails to render falls back too."""
    tpl = await _template_text(session, topic, channel, locale) or defaults.text_for(topic, locale)
    fallback = default_text(topic, payload)
    if tpl is None:
        return fallback
    subject, source = tpl
    ctx = {**payload, "topic": topic}
    try:
        title = _compiled(subject, False).render(ctx).strip() if subject else ""
        body = _compiled(source, False).render(ctx)
        html = _compiled(source, True).render(ctx) if channel is NoticeChannel.EMAIL else None
    except TemplateError:
        return fallback
    return Rendered(title=title or fallback.title, body=body, html=html)
