"""Approvals: per-tenant chains, notices by SMS and email, decisions by API, link or SMS."""
