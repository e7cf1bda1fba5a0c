"""Notification rules: event to recipients to channels, with templates and preferences."""
