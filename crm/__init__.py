"""Customer relationship management: contacts, timeline, tickets with SLA escalation, surveys."""
