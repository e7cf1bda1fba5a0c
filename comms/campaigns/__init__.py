"""Office SMS: recipient groups and campaigns sent through the unified message service."""
