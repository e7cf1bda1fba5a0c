"""publish(): write an event to the outbox inside the caller's transaction.

publish() only queues the row in `session.info`; every row queued in a transaction goes to
the outbox in one Core INSERT (an executemany) just before the transaction or savepoint
commits, before an ORM flush and before an ORM query, so the outbox is written in publish
order and a query in the same transaction still sees its own events. Rows queued inside a
savepoint that rolls back are dropped with it, as the ORM drops the objects it added there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CTE, Connection, Table, bindparam, exists, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from comms.bus.models import OutboxEvent
from comms.bus.subscribers import SubscriberRegistry
from comms.bus.topics import EventPayload, TopicRegistry
from comms.db.base import utcnow
from comms.db.tenancy import TenantScopeError, current_tenant

# Keys in session.info: the sessionmaker of a running hub puts the topic registry and the
# relay's wake-up there, so publish() needs nothing but the session it writes with.
TOPICS_KEY = "bus.topics"
WAKE_KEY = "bus.wake"
PENDING_KEY = "bus.pending"  # this transaction published (the relay is woken at commit)
# This transaction published an event some subscriber takes (or queued work for the relay):
# a worker child relays at once only then; an event no one takes waits for the poll.
WANTED_KEY = "bus.wanted"
SUBSCRIBERS_KEY = "bus.subscribers"  # the hub's SubscriberRegistry (absent: assume wanted)
ROWS_KEY = "bus.rows"  # outbox rows not yet written

_OUTBOX = cast(Table, OutboxEvent.__table__)
_INSERT = insert(_OUTBOX)
_CTE_COLUMNS = ["tenant_id", "topic", "version", "payload", "created_at"]


def publish(
    session: AsyncSession | Session,
    topic: str,
    payload: EventPayload | dict[str, Any],
    *,
    tenant_id: uuid.UUID | None = None,
) -> None:
    """Add `topic` to the outbox; it exists only if the caller's transaction commits."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    _queue(sync, [_checked_row(session, sync, topic, payload, tenant_id)])


async def publish_many(
    session: AsyncSession, payloads: Sequence[EventPayload], *, tenant_id: uuid.UUID
) -> None:
    """`publish` for many events of one tenant (the bulk paths: a campaign chunk, a sender
    record, a receipt batch): validated once each and queued with the transaction's other
    rows, which go to the outbox in the one INSERT."""
    if not payloads:
        return
    sync = session.sync_session
    topics, now = _topics(sync), utcnow()
    _queue(sync, [_row(p.topic, topics.validate(p.topic, p), tenant_id, now) for p in payloads])


def outbox_cte(gate: CTE) -> CTE:
    """An outbox INSERT for a caller's own statement (PostgreSQL, a data-modifying CTE) that
    writes one event if `gate`, another CTE of that statement, returned a row: the change
    and its event in one round trip rather than two. Build it once, with the statement; each
    execution passes `published(...)` among its parameters."""
    c = _OUTBOX.c
    row = select(
        *(bindparam(f"b_outbox_{name}", type_=c[name].type) for name in _CTE_COLUMNS)
    ).where(exists(select(gate.c[0])))
    return insert(_OUTBOX).from_select(_CTE_COLUMNS, row).cte("published")


def published(
    session: AsyncSession,
    topic: str,
    payload: EventPayload | dict[str, Any],
    *,
    tenant_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """`publish` for a statement carrying `outbox_cte`: the parameters of its event row.
    Rows queued before it must be written first (outbox order is publish order): the caller
    publishes the plain way when `queued(session)`."""
    sync = session.sync_session
    row = _checked_row(session, sync, topic, payload, tenant_id)
    _mark_publishing(sync, [row])
    return {f"b_outbox_{name}": row[name] for name in _CTE_COLUMNS}


def queued(session: AsyncSession) -> bool:
    """Whether events published in this transaction are still waiting to be written."""
    return bool(session.sync_session.info.get(ROWS_KEY))


def _topics(sync: Session) -> TopicRegistry:
    topics: TopicRegistry | None = sync.info.get(TOPICS_KEY)
    if topics is None:
        raise RuntimeError("session has no topic registry; open it from the hub's Database")
    return topics


def _checked_row(
    session: AsyncSession | Session,
    sync: Session,
    topic: str,
    payload: EventPayload | dict[str, Any],
    tenant_id: uuid.UUID | None,
) -> dict[str, Any]:
    """The outbox row of one event, validated against its topic, in a tenant."""
    model = _topics(sync).validate(topic, payload)
    tid = tenant_id or current_tenant(session)
    if tid is None:
        raise TenantScopeError(f"event {topic!r} published with no tenant")
    return _row(topic, model, tid, utcnow())


def _row(topic: str, model: EventPayload, tid: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tid,
        "topic": topic,
        "version": type(model).version,
        "payload": model.model_dump(mode="json"),
        "created_at": at,
        "dispatched_at": None,
    }


def _queue(sync: Session, rows: list[dict[str, Any]]) -> None:
    """Queue outbox rows in the session's transaction (written at commit, flush or query)."""
    _mark_publishing(sync, rows)
    queued: list[dict[str, Any]] | None = sync.info.get(ROWS_KEY)
    if queued is None:
        sync.info[ROWS_KEY] = rows
    else:
        queued.extend(rows)


def _mark_publishing(sync: Session, rows: list[dict[str, Any]]) -> None:
    """Mark the transaction as publishing `rows`: the relay is woken at its commit (at once
    from a worker child if some subscriber takes one of them)."""
    info = sync.info
    # Tie the marks (and queued rows) to a transaction as Session.add() does, so a rollback
    # or close drops them.
    sync._autobegin_t()
    info[PENDING_KEY] = True
    if not info.get(WANTED_KEY) and any(_wanted(info, r["topic"], r["payload"]) for r in rows):
        info[WANTED_KEY] = True


def _wanted(info: dict[str, Any], topic: str, payload: dict[str, Any]) -> bool:
    """Whether the relay would make a delivery of this event (no registry: yes)."""
    subscribers: SubscriberRegistry | None = info.get(SUBSCRIBERS_KEY)
    return subscribers is None or bool(subscribers.for_event(topic, payload))


def _write(session: Session, conn: Connection | None = None) -> None:
    rows: list[dict[str, Any]] | None = session.info.get(ROWS_KEY)
    if not rows:
        return
    session.info[ROWS_KEY] = []
    (conn or session.connection()).execute(_INSERT, rows[0] if len(rows) == 1 else rows)


@sa_event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    _write(session)  # fires for savepoint releases too


@sa_event.listens_for(Session, "before_flush")
def _write_at_flush(session: Session, _context: Any, _instances: Any) -> None:
    _write(session)


@sa_event.listens_for(Session, "do_orm_execute")
def _write_before_query(state: ORMExecuteState) -> None:
    if state.session.info.get(ROWS_KEY):
        _write(state.session)


@sa_event.listens_for(Session, "after_transaction_create")
def _write_before_savepoint(session: Session, transaction: SessionTransaction) -> None:
    # The SAVEPOINT is not sent yet: rows queued before it go in through the enclosing
    # transaction's connection, so only rows queued inside a savepoint can die with it.
    if transaction.nested and transaction.parent is not None:
        _write(session, transaction.parent.connection(None))


@sa_event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session: Session, transaction: SessionTransaction) -> None:
    # Rows still queued when a savepoint or the transaction ends were published inside it and
    # it did not commit (a commit or release writes them first): they go with it.
    if transaction.nested or transaction.parent is None:
        session.info.pop(ROWS_KEY, None)


@sa_event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    # Commit-then-emit: only after the commit is the event real, so only now poke the relay.
    # SQLAlchemy also calls this when a savepoint is released (a bus handler's): the events
    # are not visible yet, so keep the mark for the outer commit.
    if session.in_nested_transaction():
        return
    session.info.pop(WANTED_KEY, None)
    if session.info.pop(PENDING_KEY, False):
        wake: Callable[[], None] | None = session.info.get(WAKE_KEY)
        if wake is not None:
            wake()


@sa_event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's rollback; the outer transaction's events may still commit
    session.info.pop(PENDING_KEY, None)
    session.info.pop(WANTED_KEY, None)
