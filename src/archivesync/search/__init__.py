"""Japanese full-text search: query parsing and the queries (the index: db/search_index.py)."""
