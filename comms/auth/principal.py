from __future__ import annotations

import uuid
from dataclasses import dataclass

from comms.auth.models import Role


@dataclass(frozen=True)
class Principal:
    """Who is calling: a console user or an integration's API key, always of one tenant."""

    tenant_id: uuid.UUID
    role: Role
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    @property
    def actor(self) -> tuple[str, uuid.UUID | None]:
        if self.user_id is not None:
            return "user", self.user_id
        if self.api_key_id is not None:
            return "api_key", self.api_key_id
        return "system", None

    @classmethod
    def system(cls, tenant_id: uuid.UUID) -> Principal:
        return cls(tenant_id=tenant_id, role=Role.ADMIN)
