"""The agent softphone web console: its page, its WebSocket and the pushes that feed it."""
