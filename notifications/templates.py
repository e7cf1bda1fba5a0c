"""Notice text: sandboxed Jinja2 templates per (topic, channel, locale), checked at save
against the topic's payload fields, with the payload's `summary` as the fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.topics import TopicRegistry
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput
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


async def find_template(
    session: AsyncSession, topic: str, channel: NoticeChannel, locale: str
) -> NotificationTemplate | None:
    """The template for the locale, else the same topic and channel in another locale."""
    rows = list(
        await session.scalars(
            select(NotificationTemplate).where(
                NotificationTemplate.topic == topic, NotificationTemplate.channel == channel
            )
        )
    )
    for row in rows:
        if row.locale == locale:
            return row
    return rows[0] if rows else None


def default_text(topic: str, payload: dict[str, Any]) -> Rendered:
    summary = payload.get("summary")
    text = str(summary) if summary else topic
    return Rendered(title=text.strip().splitlines()[0][:200] if text.strip() else topic, body=text)


TEMPLATES_CACHE = "notifications.templates"


async def _template_text(
    session: AsyncSession, topic: str, channel: NoticeChannel, locale: str
) -> tuple[str, str] | None:
    """(subject, body) of the template to use, read once per transaction."""
    key = (TEMPLATES_CACHE, current_tenant(session), topic, channel, locale)
    if key not in session.info:
        tpl = await find_template(session, topic, channel, locale)
        session.info[key] = None if tpl is None else (tpl.subject, tpl.body)
    found: tuple[str, str] | None = session.info[key]
    return found


async def render(
    session: AsyncSession,
    topic: str,
    channel: NoticeChannel,
    locale: str,
    payload: dict[str, Any],
) -> Rendered:
    """The notice text for one channel; a template that fails to render falls back too."""
    tpl = await _template_text(session, topic, channel, locale)
    fallback = default_text(topic, payload)
    if tpl is None:
        return fallback
    subject, source = tpl
    ctx = {**payload, "topic": topic}
    try:
        title = _text.from_string(subject).render(ctx).strip() if subject else ""
        body = _text.from_string(source).render(ctx)
        html = _html.from_string(source).render(ctx) if channel is NoticeChannel.EMAIL else None
    except TemplateError:
        return fallback
    return Rendered(title=title or fallback.title, body=body, html=html)
