"""Database: declarative base, engine, tenant scoping, migrations."""

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow
from comms.db.engine import Database
from comms.db.tenancy import TenantScopeError, scoped_to, unscoped

__all__ = [
    "Base",
    "Database",
    "TenantScopeError",
    "TenantScoped",
    "Timestamped",
    "new_id",
    "scoped_to",
    "unscoped",
    "utcnow",
]
