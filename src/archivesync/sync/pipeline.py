"""Fetching ahead in threads while one thread saves in order: the full sync's pipeline.

The API is latency-bound and SQLite has one writer: pages are fetched by a pool while the
caller saves them, in listing order, a transaction per batch of pages that have arrived.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from archivesync.sync.run import RunContext
from archivesync.youtube import fetch_playlist_item_pages, fetch_videos


def playlist_video_ids(items: list[dict]) -> list[str]:
    """The video ids of a playlistItems page, in order, without repeats."""
    ids: list[str] = []
    for item in items:
        video_id = (item.get("contentDetails") or {}).get("videoId")
        if video_id and video_id not in ids:
            ids.append(video_id)
    return ids


def settled(batch: list[tuple[Any, Future]], skip=()) -> tuple[list[tuple[Any, Any]], Any]:
    """The batch's results in order up to the first failure, and that failure (or None).

    An exception of a type in `skip` stands for a result of None.
    """
    results = []
    for key, future in batch:
        try:
            results.append((key, future.result()))
        except skip:
            results.append((key, None))
        except BaseException as e:
            return results, e
    return results, None


_DONE = object()


def pipelined_upload_pages(
    ctx: RunContext, uploads: str, pool: ThreadPoolExecutor, depth: int
) -> Iterator[list[tuple[list[str], Future]]]:
    """Uploads pages, each with its videos.list call already under way, in batches.

    A paging thread walks the uploads playlist while the pool fetches the videos of earlier
    pages, so a latency-bound sync costs about the paging time alone. The queue is bounded:
    memory stays flat however large the channel. A batch is the next page (once its videos
    have arrived) and the pages after it whose videos have arrived too: when saving is the
    slower side (a fast API), several pages then share one transaction, and one fsync.
    """
    pages: queue.Queue = queue.Queue(maxsize=depth)
    abort = threading.Event()

    def put(item) -> bool:
        while not abort.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def walk() -> None:
        try:
            for page in fetch_playlist_item_pages(ctx.client, uploads, part="contentDetails"):
                ctx.total = page.total
                ids = playlist_video_ids(page.items)
                if not put((ids, pool.submit(fetch_videos, ctx.client, ids))):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, which raises it
            put(e)

    walker = threading.Thread(target=walk, name="uploads", daemon=True)
    walker.start()
    try:
        pending = None
        while True:
            item = pages.get() if pending is None else pending
            pending = None
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            wait([item[1]])
            batch = [item]
            while len(batch) < depth:
                try:
                    item = pages.get_nowait()
                except queue.Empty:
                    break
                if item is _DONE or isinstance(item, BaseException) or not item[1].done():
                    pending = item
                    break
                batch.append(item)
            yield batch
    finally:
        abort.set()
        walker.join()
