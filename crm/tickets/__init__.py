"""Tickets: a state machine, SLA targets in business hours, automatic escalation."""
