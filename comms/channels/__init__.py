"""Outbound and inbound message channels (SMS first)."""
