"""Log set-up for the CLI and the daemon: plain or JSON lines on stderr, the key never shown."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from archivesync.youtube import RedactKeyFilter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        """One JSON object per record."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(log_format: str = "plain", verbose: bool = False, secret: str = "") -> None:
    """Log to stderr as plain text or JSON lines, with the key redacted."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactKeyFilter(secret))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # These log request URLs, and request URLs carry the key: keep them quiet whatever -v says.
    for noisy in ("googleapiclient", "googleapiclient.discovery", "httplib2", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
