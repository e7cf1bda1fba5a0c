"""Messages and conversations: every SMS and email, in or out, as one tracked record."""
