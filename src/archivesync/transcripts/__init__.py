"""Captions: listing and downloading tracks, parsing cues, storing and indexing them."""
