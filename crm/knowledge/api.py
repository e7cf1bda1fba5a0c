"""Routes for knowledge-base articles: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from comms.audit import service as audit
from comms.deps import AgentDep, SessionDep, SupervisorDep, ViewerDep
from crm.knowledge import service
from crm.knowledge.models import ArticleStatus
from crm.knowledge.schemas import ArticleIn, ArticleOut, ArticlePage, ArticlePatch

router = APIRouter(prefix="/api/v1/crm/articles", tags=["crm"])


@router.post("", status_code=201, response_model=ArticleOut)
async def create_article(body: ArticleIn, who: AgentDep, s: SessionDep) -> object:
    a = await service.create_article(s, body, who.user_id)
    audit.record(s, who, "crm.article.created", "crm_article", a.id, {"title": a.title})
    await s.commit()
    return a


@router.get("", response_model=ArticlePage)
async def search_articles(
    _: ViewerDep,
    s: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="words in title, tags or body")
    ] = None,
    status: ArticleStatus | None = None,
    locale: str | None = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ArticlePage:
    """Title hits first, then tag hits, then body hits; newest first among equals."""
    items = await service.search(s, q, status=status, locale=locale, tag=tag, limit=limit)
    return ArticlePage(items=items)


@router.get("/{article_id}", response_model=ArticleOut)
async def get_article(article_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    """Reading a published article counts a view."""
    a = await service.get_article(s, article_id)
    await service.viewed(s, a)
    await s.commit()
    return a


@router.patch("/{article_id}", response_model=ArticleOut)
async def patch_article(
    article_id: uuid.UUID, body: ArticlePatch, who: AgentDep, s: SessionDep
) -> object:
    a = await service.update_article(s, await service.get_article(s, article_id), body)
    changes = body.model_dump(mode="json", exclude_unset=True, exclude={"body"})
    audit.record(s, who, "crm.article.updated", "crm_article", a.id, changes)
    await s.commit()
    return a


@router.delete("/{article_id}", status_code=204)
async def delete_article(article_id: uuid.UUID, who: SupervisorDep, s: SessionDep) -> Response:
    a = await service.get_article(s, article_id)
    audit.record(s, who, "crm.article.deleted", "crm_article", a.id, {"title": a.title})
    await s.delete(a)
    await s.commit()
    return Response(status_code=204)
