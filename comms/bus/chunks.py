"""How a relay pass's new deliveries travel: cut into broker messages, one worker
transaction each."""

from __future__ import annotations

import uuid

from comms.bus.subscribers import SubscriberRegistry

# How many deliveries travel in one broker message: big enough to amortise broker and commit
# costs, small enough that one slow batch does not hold up the others for long. A worker runs
# a message in one transaction with a savepoint per delivery; at most 64 keeps those
# subtransactions within PostgreSQL's per-backend cache (PGPROC_MAX_CACHED_SUBXIDS), past
# which every other backend's snapshot checks go through pg_subtrans (measured: 100 made
# ~12x the pg_subtrans lookups of 50 and ~5-10 % less throughput).
CHUNK = 50
# A batch subscriber's run of one tenant in a message runs in one savepoint: it counts once
# towards CHUNK, and a message carries at most this many deliveries in all (one transaction
# of bounded length). Fewer, bigger messages: fewer Celery sends, worker transactions and
# sender passes per event.
MAX_DELIVERIES = 200


def cut(
    handed: list[tuple[int, str, uuid.UUID]], subscribers: SubscriberRegistry
) -> list[list[int]]:
    """New (delivery id, subscriber, tenant) as broker messages: urgent ones first, then
    by subscriber; at most CHUNK savepoints and MAX_DELIVERIES deliveries a message. The
    urgent run does not get a message of its own: each message costs a worker
    transaction and a Celery hop (a few ms of CPU), more than the rest of a message
    delays the urgent effects' commit."""
    subs = {name: subscribers.get(name) for _, name, _ in handed}
    handed.sort(key=lambda d: (not getattr(subs[d[1]], "urgent", False), d[1], d[0]))
    chunks: list[list[int]] = []
    chunk: list[int] = []
    units = 0
    last: tuple[str, uuid.UUID] | None = None
    for delivery_id, name, tenant_id in handed:
        batched = getattr(subs[name], "batch", None) is not None
        opens_unit = not (batched and last == (name, tenant_id))
        if chunk and (len(chunk) >= MAX_DELIVERIES or (opens_unit and units >= CHUNK)):
            chunks.append(chunk)
            chunk, units, opens_unit = [], 0, True
        chunk.append(delivery_id)
        units += opens_unit
        last = (name, tenant_id)
    if chunk:
        chunks.append(chunk)
    return chunks
