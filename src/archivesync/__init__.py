"""archivesync: an SQLite index of a YouTube channel's metadata."""

__version__ = "0.1.0"
