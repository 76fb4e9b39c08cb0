"""YouTube Analytics: daily figures per video and channel, and audience retention.

`client` talks to the API (OAuth, retries), `fetch` holds the generators that read reports
and the pure parsing of their tables, `store` the functions that save them, and `run` the
job that plans the windows and goes through the run envelope (CLI and daemon alike).
"""
