"""Notifications to operators through Apprise: one message per event and cause, in Japanese."""
