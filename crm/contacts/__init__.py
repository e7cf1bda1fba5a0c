"""Contacts and companies, their phone/email lookup index, and the per-contact timeline."""
