"""Topics the stock slice publishes: ids and facts, never ORM objects."""

from __future__ import annotations

import uuid
from typing import ClassVar

from comms.bus.topics import EventPayload


class StockLow(EventPayload):
    """on_hand fell to the item's reorder point or below; once per dip (the level's flag)."""

    topic: ClassVar[str] = "erp.stock.low"
    version: ClassVar[int] = 1

    item_id: uuid.UUID
    sku: str
    item_name: str
    warehouse_id: uuid.UUID
    warehouse_code: str
    on_hand: int
    reserved: int
    reorder_point: int
    reorder_qty: int
    manager_id: uuid.UUID | None
    summary: str


class StockReplenished(EventPayload):
    """on_hand rose above the reorder point after a low notice; the flag is cleared."""

    topic: ClassVar[str] = "erp.stock.replenished"
    version: ClassVar[int] = 1

    item_id: uuid.UUID
    sku: str
    item_name: str
    warehouse_id: uuid.UUID
    warehouse_code: str
    on_hand: int
    reorder_point: int
    manager_id: uuid.UUID | None
    summary: str


TOPICS: list[type[EventPayload]] = [StockLow, StockReplenished]
