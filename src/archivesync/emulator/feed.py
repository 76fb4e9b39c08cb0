"""The public Atom feed ``/feeds/videos.xml``: latest 15 uploads, no key, no quota."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .api import playlist_rows
from .dataset import PUBLIC, Dataset

FEED_SIZE = 15


def _atom_time(rfc3339: str) -> str:
    # The feed writes offsets, not "Z": 2022-03-15T09:00:12+00:00.
    return rfc3339.replace("Z", "+00:00")


def _entry(ds: Dataset, video_id: str) -> str:
    video = ds.video(video_id)
    assert video is not None
    sn = video["snippet"]
    stats = video.get("statistics", {})
    channel_id = sn["channelId"]
    channel_url = f"https://www.youtube.com/channel/{channel_id}"
    title = escape(sn.get("title", ""))
    likes = stats.get("likeCount", "0")
    thumb = f"https://i1.ytimg.com/vi/{video_id}/hqdefault.jpg"
    return f"""
 <entry>
  <id>yt:video:{video_id}</id>
  <yt:videoId>{video_id}</yt:videoId>
  <yt:channelId>{channel_id}</yt:channelId>
  <title>{title}</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v={video_id}"/>
  <author>
   <name>{escape(sn.get("channelTitle", ""))}</name>
   <uri>{channel_url}</uri>
  </author>
  <published>{_atom_time(sn["publishedAt"])}</published>
  <updated>{_atom_time(ds.updated_at(video_id))}</updated>
  <media:group>
   <media:title>{title}</media:title>
   <media:content url="https://www.youtube.com/v/{video_id}?version=3" \
type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="{thumb}" width="480" height="360"/>
   <media:description>{escape(sn.get("description", ""))}</media:description>
   <media:community>
    <media:starRating count={quoteattr(likes)} average="5.00" min="1" max="5"/>
    <media:statistics views={quoteattr(stats.get("viewCount", "0"))}/>
   </media:community>
  </media:group>
 </entry>"""


def channel_feed(ds: Dataset, channel_id: str) -> str | None:
    """The feed XML, or None when the channel is unknown (the server answers 404)."""
    with ds.lock:
        channel = ds.channel(channel_id)
        if channel is None:
            return None
        sn = channel.get("snippet", {})
        url = f"https://www.youtube.com/channel/{channel_id}"
        head = f"""\
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={channel_id}"/>
 <id>yt:channel:{channel_id}</id>
 <yt:channelId>{channel_id}</yt:channelId>
 <title>{escape(sn.get("title", ""))}</title>
 <link rel="alternate" href="{url}"/>
 <author>
  <name>{escape(sn.get("title", ""))}</name>
  <uri>{url}</uri>
 </author>
 <published>{_atom_time(sn.get("publishedAt", "1970-01-01T00:00:00Z"))}</published>"""
        entries = [_entry(ds, v) for v in ds.uploads(channel_id)[:FEED_SIZE]]
        return _wrap(head, entries)


def playlist_feed(ds: Dataset, playlist_id: str) -> str | None:
    """``?playlist_id=``: the first 15 available entries of a playlist."""
    with ds.lock:
        rows = playlist_rows(ds, playlist_id, None)
        pl = ds.playlist(playlist_id)
        if rows is None:
            return None
        owner, length, row = rows
        title = pl.resource["snippet"].get("title", "") if pl else "Uploads"
        channel_id = owner["id"]
        head = f"""\
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?playlist_id={playlist_id}"/>
 <id>yt:playlist:{playlist_id}</id>
 <yt:playlistId>{playlist_id}</yt:playlistId>
 <yt:channelId>{channel_id}</yt:channelId>
 <title>{escape(title)}</title>
 <link rel="alternate" href="https://www.youtube.com/playlist?list={playlist_id}"/>"""
        entries = []
        for pos in range(length):
            if len(entries) == FEED_SIZE:
                break
            _, vid, _, _, state = row(pos)
            if state is None and ds.video_state(vid) == PUBLIC:
                entries.append(_entry(ds, vid))
        return _wrap(head, entries)


def _wrap(head: str, entries: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">\n'
        + head
        + "".join(entries)
        + "\n</feed>\n"
    )
