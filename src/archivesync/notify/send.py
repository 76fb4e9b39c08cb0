"""Sending through Apprise, with its URLs (which carry tokens and passwords) never shown.

Operators give Apprise URLs (`mailto://`, `msteams://`, `slack://`, `line://`, `json://`...).
Any part of one may be a secret (a webhook's path is its password), so a URL is only ever
shown as its scheme and a short fingerprint, and records from Apprise's own logger have every
part of every URL masked before a handler writes them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import urlsplit

from archivesync.errors import ConfigError
from archivesync.notify.messages import Message

log = logging.getLogger("archivesync.notify")

_PARTS = re.compile(r"[/:@?&=#,+;]+")
MIN_SECRET_CHARS = 3


def redact(url: str) -> str:
    """How a notification URL is shown anywhere: `json://…#1a2b3c`, never its parts."""
    scheme = urlsplit(url).scheme or "?"
    return f"{scheme}://…#{hashlib.sha256(url.encode()).hexdigest()[:6]}"


def secret_parts(url: str) -> list[str]:
    """Every piece of a URL after its scheme that could be a token, longest first."""
    rest = url.split("://", 1)[-1]
    pieces = {p for p in _PARTS.split(rest) if len(p) >= MIN_SECRET_CHARS}
    return sorted({url, rest, *pieces}, key=len, reverse=True)


class RedactUrlsFilter(logging.Filter):
    """Masks notification URLs in records from Apprise (and from us, should one slip in)."""

    def __init__(self, urls: list[str]):
        super().__init__()
        self.parts = [p for url in urls for p in secret_parts(url)]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with every URL part masked; never drops it."""
        if not self.parts or not record.name.startswith(("apprise", "archivesync.notify")):
            return True
        message = record.getMessage()
        masked = message
        for part in self.parts:
            masked = masked.replace(part, "***")
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class Sender:
    """Sends a message to every configured URL; True when all of them took it."""

    def __init__(self, urls: list[str]):
        import apprise  # only a daemon with --notify (or `notify test`) pays for the import

        self.urls = list(dict.fromkeys(urls))
        self._apprise = apprise.Apprise()
        for index, url in enumerate(self.urls, 1):
            if apprise.Apprise.instantiate(url) is None or not self._apprise.add(url):
                raise ConfigError(
                    f"notification URL #{index} ({redact(url)}) is not one Apprise understands "
                    "(see https://github.com/caronc/apprise/wiki)"
                )
        redactor = RedactUrlsFilter(self.urls)
        for handler in logging.getLogger().handlers:
            handler.addFilter(redactor)
        # Apprise logs each attempt; at INFO that would be a line per message and URL.
        logging.getLogger("apprise").setLevel(logging.WARNING)

    def shown(self) -> list[str]:
        """The URLs as they may be shown."""
        return [redact(url) for url in self.urls]

    def send(self, message: Message) -> bool:
        """Deliver to every URL; a failure is logged (without the URL) and returns False."""
        try:
            delivered = bool(self._apprise.notify(title=message.title, body=message.body))
        except Exception as e:  # a plugin's bug must not stop the daemon
            log.warning("notification failed: %s", type(e).__name__)
            return False
        if not delivered:
            log.warning(
                "notification not delivered to every URL (%s): %s",
                ", ".join(self.shown()),
                message.title,
                extra={"fields": {"event": "notify_failed"}},
            )
        return delivered
