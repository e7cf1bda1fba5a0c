"""Group ringback (集团彩铃): a tenant's tone library and the rules choosing what callers hear."""
