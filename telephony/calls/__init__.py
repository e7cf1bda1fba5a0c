"""Calls: persisted call state (calls, legs, bridge), its state machine and call events."""
