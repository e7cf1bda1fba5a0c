"""Sales orders: an explicit state machine that reserves, issues and releases stock."""
