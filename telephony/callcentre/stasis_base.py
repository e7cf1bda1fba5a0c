"""Shared state of the call-centre Stasis app, split by concern across stasis*.py modules."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from comms.queries import Queries
from telephony.ari import AriClient, AriError
from telephony.callcentre.acd_index import AcdIndex

log = logging.getLogger(__name__)

LEG_ARG = "leg"  # the same marker calls/stasis.py uses: StasisStart of our own legs is ignored


@dataclass(frozen=True)
class Binding:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    role: str  # caller | agent | callback (the leg calling a callback customer)


class QueueCallsBase:
    """What every part of the call-centre Stasis app shares: ARI, database, lock, channels."""

    def __init__(
        self,
        ari: AriClient,
        db: Database,
        *,
        queries: Queries | None = None,
        tick_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        acd_recheck_seconds: float = 30.0,
    ) -> None:
        self.ari = ari
        self.db = db
        self.queries = queries
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.channels: dict[str, Binding] = {}
        # Consultation legs that ended between "complete" and the hand-over (stasis.py).
        self.vanished: set[str] = set()
        # The ACD's books, kept in step with the rows (acd_index.py): an offer costs no reload.
        self.acd = AcdIndex(recheck_seconds=acd_recheck_seconds)
        self.lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None

    def session(self, tenant_id: uuid.UUID) -> AsyncSession:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    async def _dispatch(
        self,
        tenant_id: uuid.UUID,
        queue_id: uuid.UUID,
        direct: tuple[uuid.UUID, uuid.UUID | None] | None = None,
    ) -> None:
        """Offer waiting callers to free agents (QueueCalls implements it)."""
        raise NotImplementedError

    async def _leg_gone(self, binding: Binding, leg_id: str) -> None:
        """An agent's leg ended (QueueCalls implements it)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers

    async def _safely(self, request: Awaitable[Any]) -> Any:
        # The far end can hang up between our decision and our command: a 404/409 then is
        # not an error, the ChannelDestroyed that follows settles the call.
        try:
            return await request
        except AriError as exc:
            log.info("ARI request failed (channel likely gone): %s", exc)
            return None
