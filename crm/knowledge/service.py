"""Article rules: tag normalisation, publishing stamps, search ranked title-first, views."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.errors import InvalidInput, NotFound
from crm.knowledge.models import Article, ArticleStatus
from crm.knowledge.schemas import ArticleBrief, ArticleIn, ArticlePatch
from crm.segments.sql import json_list_has

MAX_TERMS = 8
EXCERPT = 160
# A title hit outranks a tag hit, which outranks a body hit, per search term.
TITLE, TAGS, BODY = 4, 2, 1


def _tags(raw: list[str]) -> list[str]:
    out: list[str] = []
    for i, t in enumerate(raw):
        tag = t.strip()
        if not tag:
            raise InvalidInput(f"tags[{i}]: empty tag", field=f"tags[{i}]")
        if tag not in out:
            out.append(tag)
    return out


def _set_tags(a: Article, tags: list[str]) -> None:
    a.tags = tags
    a.search_tags = " ".join(tags)


def _set_status(a: Article, status: ArticleStatus) -> None:
    if status is ArticleStatus.PUBLISHED and a.status is not ArticleStatus.PUBLISHED:
        a.published_at = utcnow()
    a.status = status


async def create_article(s: AsyncSession, body: ArticleIn, author_id: uuid.UUID | None) -> Article:
    a = Article(
        title=body.title.strip(),
        body=body.body,
        locale=body.locale,
        author_id=author_id,
        status=ArticleStatus.DRAFT,
        view_count=0,
    )
    _set_tags(a, _tags(body.tags))
    _set_status(a, body.status)
    s.add(a)
    await s.flush()
    return a


async def get_article(s: AsyncSession, article_id: uuid.UUID) -> Article:
    a = await s.get(Article, article_id)
    if a is None:
        raise NotFound("article not found")
    return a


async def update_article(s: AsyncSession, a: Article, body: ArticlePatch) -> Article:
    if body.title is not None:
        a.title = body.title.strip()
    if body.body is not None:
        a.body = body.body
    if body.tags is not None:
        _set_tags(a, _tags(body.tags))
    if body.locale is not None:
        a.locale = body.locale
    if body.status is not None:
        _set_status(a, body.status)
    await s.flush()
    return a


async def viewed(s: AsyncSession, a: Article) -> None:
    """Count a reader's view of a published article (one atomic UPDATE, no lost counts)."""
    if a.status is not ArticleStatus.PUBLISHED:
        return
    await s.execute(
        update(Article)
        .where(Article.id == a.id)
        .values(view_count=Article.view_count + 1)
        .execution_options(synchronize_session=False)
    )
    await s.refresh(a, ["view_count"])


def _has(column: Any, term: str) -> ColumnElement[bool]:
    # lower() on both sides: ILIKE on PostgreSQL, case-folding on SQLite; CJK matches as
    # substrings (no word segmentation needed).
    return func.lower(column).contains(term.lower(), autoescape=True)


async def search(
    s: AsyncSession,
    q: str | None = None,
    *,
    status: ArticleStatus | None = None,
    locale: str | None = None,
    tag: str | None = None,
    limit: int = 20,
) -> list[ArticleBrief]:
    """Every term must match title, tags or body; ranked by where the terms matched."""
    query = select(Article)
    terms = (q or "").split()[:MAX_TERMS]
    if terms:
        score: ColumnElement[Any] | None = None
        for term in terms:
            title, tags, body = (
                _has(c, term) for c in (Article.title, Article.search_tags, Article.body)
            )
            query = query.where(or_(title, tags, body))
            points = (
                case((title, TITLE), else_=0)
                + case((tags, TAGS), else_=0)
                + case((body, BODY), else_=0)
            )
            score = points if score is None else score + points
        assert score is not None
        query = query.order_by(score.desc(), Article.updated_at.desc(), Article.id)
    else:
        query = query.order_by(Article.updated_at.desc(), Article.id)
    filters = [Article.status == status] if status is not None else []
    if locale is not None:
        filters.append(Article.locale == locale)
    if tag is not None:
        filters.append(json_list_has(Article.tags, tag, s.get_bind().dialect.name))
    if filters:
        query = query.where(and_(*filters))
    return [brief(a) for a in await s.scalars(query.limit(limit))]


def brief(a: Article) -> ArticleBrief:
    text = " ".join(a.body.split())
    return ArticleBrief(
        id=a.id,
        title=a.title,
        excerpt=text[:EXCERPT] + ("…" if len(text) > EXCERPT else ""),
        tags=list(a.tags),
        status=a.status,
        locale=a.locale,
        view_count=a.view_count,
        updated_at=a.updated_at,
    )
