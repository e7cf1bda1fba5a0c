"""Notice text: sandboxed Jinja2 templates per (topic, channel, locale), checked at save
against the topic's payload fields, with the payload's `summary` as the fallback."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.subscribers import is_pattern, specificity, topic_matches
from comms.bus.topics import EventPayload, TopicRegistry
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput
from notifications import defaults
from notifications.models import NoticeChannel, NotificationTemplate
from notifications.samples import Sample
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


def payload_classes(topics: TopicRegistry, topic: str) -> list[type[EventPayload]]:
    """The registered payload classes a template of `topic` (exact or pattern) may get."""
    if is_pattern(topic):
        return [topics.payload_class(n) for n in topics.names() if topic_matches(topic, n)]
    return [topics.payload_class(topic)] if topic in topics else []


def check_template(topics: TopicRegistry, data: TemplateIn) -> list[str]:
    """Refuse syntax errors and unknown variables, attributes and keys included (422 naming
    them); returns warnings. A pattern topic is checked against the fields every registered
    topic it matches has."""
    classes = payload_classes(topics, data.topic)
    common = set.intersection(*(set(c.model_fields) for c in classes)) if classes else set()
    whose = f"{'every' if is_pattern(data.topic) else 'the'} payload of {data.topic}"
    for name in ("subject", "body"):
        source = getattr(data, name)
        try:
            used = meta.find_undeclared_variables(_text.parse(source))
        except TemplateError as exc:
            raise InvalidInput(f"{name}: template syntax error: {exc}", field=name) from None
        if not classes:
            continue
        unknown = sorted(used - common - BUILTINS)
        if unknown:
            raise InvalidInput(f"{name}: {whose} has no variable {unknown[0]!r}", field=name)
        for cls in classes:
            _trial_render(name, source, cls, common, whose)
    if not classes:
        return [
            f"topic {data.topic!r} has no registered payload schema here; "
            "variables are not checked and a missing one falls back to the summary"
        ]
    return []


def _trial_render(
    name: str, source: str, cls: type[EventPayload], fields: set[str], whose: str
) -> None:
    """Render against a sample of the payload: an attribute or key the payload lacks
    (`{{ item.nope }}`) fails here rather than at send. Only the branches the sample takes
    are seen; an error the sample's values cause (not the template's names) is let pass."""
    sample = Sample()
    ctx = sample.payload(cls, sorted(fields))
    ctx["topic"] = sample.value(str, "topic")
    env = SandboxedEnvironment(undefined=sample.undefined(), autoescape=False)
    try:
        env.from_string(source).render(ctx)
    except UndefinedError as exc:
        raise InvalidInput(f"{name}: {whose} has no variable {exc.message!r}", field=name) from None
    except Exception:
        # The sample's values did it (a division by its `1 - 1`), or the sandbox refused an
        # attribute (`__class__`): the notice falls back to the summary at send, as tested.
        return


def default_text(topic: str, payload: dict[str, Any]) -> Rendered:
    summary = payload.get("summary")
    text = str(summary) if summary else topic
    return Rendered(title=text.strip().splitlines()[0][:200] if text.strip() else topic, body=text)


TEMPLATES_CACHE = "notifications.templates"
_T = NotificationTemplate


def covering(topic: str) -> list[str]:
    """`topic` and every pattern that covers it (`erp.order.shipped`, `erp.order.*`, `erp.*`,
    `*`): the template topics that may serve it."""
    parts = topic.split(".")
    return [topic, *(".".join(parts[:n]) + ".*" for n in range(len(parts) - 1, 0, -1)), "*"]


async def _template_text(
    session: AsyncSession, topic: str, channel: NoticeChannel, locale: str
) -> tuple[str, str] | None:
    """(subject, body) of the template to use: the most specific topic (exact, then the
    longest pattern) that has one for the channel, in the user's locale if it has that locale,
    else its first. The templates are read in one query, once per transaction: an edit counts
    from the next."""
    key = (TEMPLATES_CACHE, current_tenant(session), topic)
    found: dict[NoticeChannel, list[tuple[str, str, str]]] | None = session.info.get(key)
    if found is None:
        names = covering(topic)
        rows = await session.execute(
            select(_T.topic, _T.channel, _T.locale, _T.subject, _T.body).where(_T.topic.in_(names))
        )
        best: dict[NoticeChannel, int] = {}
        found = {}
        for name, ch, loc, subject, body in rows:
            rank = specificity(name)
            if rank > best.get(ch, -1):
                best[ch], found[ch] = rank, []
            if rank == best[ch]:
                found[ch].append((loc, subject, body))
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
