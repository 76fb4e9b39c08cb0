"""Syncs: the run envelope, the sync strategies, the resync queue and the writer lease."""
