"""How `erp` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module
from erp.approvals.api import router as approvals_router
from erp.approvals.events import TOPICS as APPROVAL_TOPICS
from erp.approvals.handlers import subs as approval_subscribers
from erp.approvals.link_api import router as approval_links_router
from erp.orders.api import router as orders_router
from erp.orders.events import TOPICS as ORDER_TOPICS
from erp.orders.handlers import subs as order_subscribers
from erp.queries import QUERIES
from erp.stock.api import router as stock_router
from erp.stock.events import TOPICS as STOCK_TOPICS

module = Module(
    name="erp",
    routers=(stock_router, orders_router, approvals_router, approval_links_router),
    topics=(*STOCK_TOPICS, *ORDER_TOPICS, *APPROVAL_TOPICS),
    subscribers=(*order_subscribers, *approval_subscribers),
    models="erp.models",
    migrations="erp:migrations/versions",
    depends_on=("comms",),
    queries=QUERIES,
)
