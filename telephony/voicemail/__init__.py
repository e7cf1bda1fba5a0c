"""Voicemail: per-member mailboxes, messages recorded after a missed call, delivered by email."""
