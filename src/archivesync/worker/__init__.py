"""The scheduled worker: the daemon, schedule files and status."""
