"""The channel's public Atom feed: which videos it shows, with no API key and no quota.

An incremental sync asks it first against the real YouTube (sync/channel.py): when it shows
nothing new, the uploads listing is skipped.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import httplib2

log = logging.getLogger(__name__)


def fetch_feed_video_ids(base: str, channel_id: str, *, timeout: float) -> list[str] | None:
    """The video ids in a channel's public Atom feed (no key, no quota); None if unreadable."""
    url = f"{base.rstrip('/')}/feeds/videos.xml?channel_id={channel_id}"
    try:
        response, body = httplib2.Http(timeout=timeout).request(url)
        if response.status != 200:
            return None
        return [
            e.text
            for e in ET.fromstring(body).iter("{http://www.youtube.com/xml/schemas/2015}videoId")
        ]
    except (OSError, httplib2.HttpLib2Error, ET.ParseError) as e:
        log.info("feed probe failed (%s); asking the API", type(e).__name__)
        return None
