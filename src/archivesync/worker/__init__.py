"""The scheduled worker: the daemon, its heartbeat, schedule files and status."""
