"""Huitong's core: settings, database, tenants and auth, the bus, the app factory and the CLI."""
