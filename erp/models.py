"""Every ORM model of erp, imported so that they all join Base.metadata."""

from erp.orders.models import Order, OrderLine, OrderTransition, Sequence
from erp.stock.models import Item, StockLevel, StockMovement, Warehouse

__all__ = [
    "Item",
    "Order",
    "OrderLine",
    "OrderTransition",
    "Sequence",
    "StockLevel",
    "StockMovement",
    "Warehouse",
]
