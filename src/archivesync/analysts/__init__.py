"""The analysts' side: read-only SQL, exports and the Datasette plugin."""
