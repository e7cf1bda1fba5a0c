"""The Stasis app's per-tenant copy of the numbering plan and members (routing and rating)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import MemberView, PlanView

Directory = tuple[PlanView, tuple[MemberView, ...]]


class DirectoryCache:
    """Each tenant's directory, read at most once per ``seconds`` (a member added or changed
    reaches new calls within that time)."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._entries: dict[uuid.UUID, tuple[float, asyncio.Future[Directory]]] = {}

    async def get(self, s: AsyncSession, tenant_id: uuid.UUID) -> Directory:
        """The cached copy, else read with ``s`` (a session scoped to the tenant).

        Calls that find the copy expired while one of them re-reads it wait for that read:
        a burst of hang-ups would otherwise each read the whole member list.
        """
        now = time.monotonic()
        cached = self._entries.get(tenant_id)
        if cached is not None and (cached[0] > now or not cached[1].done()):
            with contextlib.suppress(Exception):  # the reader failed: read it ourselves
                return await asyncio.shield(cached[1])
        loading: asyncio.Future[Directory] = asyncio.get_running_loop().create_future()
        self._entries[tenant_id] = (now + self.seconds, loading)
        try:
            plan = await vpmn.plan_view(s)
            members = tuple(vpmn.member_view(m) for m in await vpmn.list_members(s))
        except BaseException:
            if self._entries.get(tenant_id, (0.0, None))[1] is loading:
                del self._entries[tenant_id]
            loading.set_exception(RuntimeError("directory read failed"))
            loading.exception()  # retrieved: waiters read it themselves
            raise
        loading.set_result((plan, members))
        return plan, members
