"""Telephony: ARI call control, VPMN, group ringback, IVR, call centre, APN access."""
