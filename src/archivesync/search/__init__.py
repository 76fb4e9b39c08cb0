"""Japanese full-text search: tokenising, the FTS5 index, and queries."""
