"""Saved contact filters (segments): SMS campaign audiences and IVR conditions."""
