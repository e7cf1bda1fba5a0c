"""Knowledge-base articles."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Enum, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Article(TenantScoped, Timestamped, Base):
    """A help article (markdown). `search_tags` mirrors `tags` as plain text because JSON
    columns store non-ASCII escaped (\\uXXXX), which LIKE cannot match."""

    __tablename__ = "crm_articles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    search_tags: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ArticleStatus] = mapped_column(
        Enum(
            ArticleStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=ArticleStatus.DRAFT,
    )
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    view_count: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
