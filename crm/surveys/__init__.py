"""Satisfaction surveys by SMS after a ticket is resolved, and CSAT reporting."""
