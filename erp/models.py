"""Every ORM model of erp, imported so that they all join Base.metadata."""

from erp.approvals.models import (
    ApprovalDecision,
    ApprovalLink,
    ApprovalRequest,
    ApprovalStep,
    ChainStep,
)
from erp.orders.models import Order, OrderLine, OrderTransition, Sequence
from erp.stock.models import Item, StockLevel, StockMovement, Warehouse

__all__ = [
    "ApprovalDecision",
    "ApprovalLink",
    "ApprovalRequest",
    "ApprovalStep",
    "ChainStep",
    "Item",
    "Order",
    "OrderLine",
    "OrderTransition",
    "Sequence",
    "StockLevel",
    "StockMovement",
    "Warehouse",
]
