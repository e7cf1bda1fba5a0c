"""Request and response shapes for knowledge-base articles."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from crm.knowledge.models import ArticleStatus

LOCALE = r"^[a-z]{2}(-[A-Za-z]{2,4})?$"


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=100_000, description="markdown")
    tags: list[str] = Field(default_factory=list, max_length=30)
    status: ArticleStatus = ArticleStatus.DRAFT
    locale: str = Field("zh-CN", pattern=LOCALE)


class ArticlePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=300)
    body: str | None = Field(None, max_length=100_000)
    tags: list[str] | None = Field(None, max_length=30)
    status: ArticleStatus | None = None
    locale: str | None = Field(None, pattern=LOCALE)


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    body: str
    tags: list[str]
    status: ArticleStatus
    locale: str
    view_count: int
    author_id: uuid.UUID | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ArticleBrief(BaseModel):
    """A search hit: no body, an excerpt."""

    id: uuid.UUID
    title: str
    excerpt: str
    tags: list[str]
    status: ArticleStatus
    locale: str
    view_count: int
    updated_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleBrief]
