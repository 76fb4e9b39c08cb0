"""Benchmarks of archivesync against the bundled YouTube API emulator (`make bench`)."""
