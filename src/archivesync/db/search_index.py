"""Search over titles, descriptions, tags and chapter titles that finds Japanese words.

FTS5's tokenizers cannot find 人材 inside 人材育成 (unicode61 keeps a run of kanji as one token)
or any word shorter than three characters (trigram). So bigrams.py tokenises the text in Python:
after NFKC + casefold, every whitespace-separated chunk becomes its overlapping character
bigrams plus its last character alone ("人材育成" -> "人材 材育 育成 成"). A query word (words
never hold whitespace) is then the phrase of its bigrams ("人材" -> "人材"; "材育成" -> "材育
育成"), or a prefix query for a single character ("人"*). Such a phrase matches exactly where
the word is a substring of the text: the index alone gives precision and recall 1.0, for
punctuation too ("c++", "(ai)", "https://..."), which is indexed like letters. The comparison
with unicode61, trigram and SudachiPy is in docs/development.md.

Layout (DDL in db/migrations.py, migration 0003_search_index):

- ``search_docs``: one row per video, its normalised title, description, tags and chapter
  titles (tags and chapter titles one per line). Its ``id`` is the rowid in the FTS tables,
  and orders videos by publication: minutes from 2005-01-01 to ``published_at`` (the next
  free number when another video of the same minute has it).
- Three contentless FTS5 tables (``content=''``) over the bigram text: ``search_fts`` (title,
  description, tags, chapters), ``search_fts_head`` (title, chapters) and ``search_fts_title``
  (title). Hits come in three groups, best first: every word in the title; every word in the
  title or chapter titles; the rest. Each group is one query on its own table, walked newest
  first (rowid descending), and FTS5 stops reading after the first hits: so a word found in
  every video costs about what a rare one does. Ranking by bm25 would score every match
  (about 200 ms for a common word at 100,000 videos); a column filter on one table
  (``{title} : ...``) would still read the whole list of a word that is common elsewhere.
- The ``ascii`` tokenizer takes every non-ASCII character as part of a token and folds only
  A-Z, so SQLite's Unicode tables never split or fold our tokens differently from Python
  (unicode61 disagrees with Python on some letters). ASCII punctuation, which it would drop,
  is written as a private-use character (U+E000 + code).
- A one-character word is a prefix query ("人"*). The two small tables have a one-character
  prefix index, which makes it one lookup; the large one has none (it would grow by 80%), so
  there such a word merges the lists of every token it starts: up to ~30 ms at 100,000 videos,
  and only when the title and chapter groups do not fill the page.

Writing (``index_videos``, ``rebuild_index``) goes a chunk of videos at a time: it plans every
video's ids first (exactly as writing them one by one would), then writes with one
``executemany`` per table, in ascending rowid order. FTS5 starts a new segment whenever a rowid
is lower than the one before, and a full sync saves newest first: one video at a time, that was
a segment per video. The bigram text is built with no per-character Python loop
(``text.fts_texts``), and NFKC runs only over lines that need it.

Contentless keeps the index small (the bigram text is 2-3 times the text), at a price: deleting
a row needs the values it was indexed with, which ``search_docs`` keeps. If the tokenising below
ever changes, a new migration must call ``rebuild_index``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the search process reads the index without sqlite-utils (or numpy)
    from sqlite_utils import Database

from archivesync.bigrams import FIELDS, FOLDED, document, folded_copies, fts_texts
from archivesync.db.transactions import atomic
from archivesync.timestamps import read_iso

# Rows touched per statement: well under SQLite's 32766 host parameters.
_CHUNK = 500
# search_docs.id: minutes from this moment (YouTube's first year) to the publication. Minutes,
# not seconds: FTS5 stores the gaps between rowids in every posting, and small gaps take one or
# two bytes where seconds took four (the index was 40% larger).
_EPOCH = datetime(2005, 1, 1, tzinfo=UTC)
# A video keeps its id while it stays this close after its publication minute (ids taken by
# videos of the same minute push it a little later).
_KEEP_WITHIN = 24 * 60


def doc_id_base(published_at: str | None) -> int:
    """The preferred search_docs id for a video published at `published_at`: minutes since
    2005-01-01 (0 when unknown)."""
    published = read_iso(published_at)
    if published is None:
        return 0
    return max(int((published - _EPOCH).total_seconds() // 60), 0)


# --------------------------------------------------------------------------------------------
# Index maintenance
# --------------------------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# FTS table -> the search_docs fields it holds.
FTS_TABLES = {
    "search_fts": FIELDS,
    "search_fts_title": ("title",),
    "search_fts_head": ("title", "chapters"),
}


def _fts_rows(writes: list[tuple[int, int, dict]]) -> dict[str, list[list]]:
    """Per FTS table, the rows of one ``executemany``: (command, rowid, columns...).

    `writes` are (doc id, 0 to delete / 1 to insert, document). Rows go in ascending rowid
    order, a deletion before an insertion of the same rowid: FTS5 flushes its pending terms to
    a new segment whenever a rowid is lower than the previous one, so the descending order in
    which a full sync saves (newest first) made one segment per video and per table, and
    merging them was most of the cost.
    """
    rows: dict[str, list[list]] = {table: [] for table in FTS_TABLES}
    for doc_id, insert, doc in sorted(writes, key=lambda w: (w[0], w[1])):
        tokens = dict(zip(FIELDS, fts_texts([doc[f] or "" for f in FIELDS]), strict=True))
        # A field's folded copy (fold.py), when folding changed it, follows its text
        # after a gap no phrase can cross (the text's last token is a lone character).
        folded = [doc.get(f) or "" for f in FOLDED]
        if any(folded):
            for field, extra in zip(FIELDS, fts_texts(folded), strict=True):
                if extra.strip():
                    tokens[field] += "  " + extra
        command = None if insert else "delete"
        for table, columns in FTS_TABLES.items():
            rows[table].append([command, doc_id, *(tokens[c] for c in columns)])
    return rows


def _write_fts(conn, writes: list[tuple[int, int, dict]]) -> None:
    for table, rows in _fts_rows(writes).items():
        columns = FTS_TABLES[table]
        conn.executemany(
            f"INSERT INTO {table} ({table}, rowid, {', '.join(columns)}) "
            f"VALUES (?, ?, {', '.join('?' * len(columns))})",
            rows,
        )


class _Ids:
    """Free search_docs ids while a chunk is planned: the table as it was, plus the ids the
    chunk has freed and taken so far (it is written only at the end)."""

    def __init__(self, conn, bases: Iterable[int]):
        self.conn = conn
        wanted = sorted(set(bases))
        self.known: dict[int, bool] = dict.fromkeys(wanted, False)
        for start in range(0, len(wanted), _CHUNK):
            part = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(part))
            for (taken,) in conn.execute(f"SELECT id FROM search_docs WHERE id IN ({marks})", part):
                self.known[taken] = True
        self.freed: set[int] = set()
        self.taken: set[int] = set()

    def _in_table(self, doc_id: int) -> bool:
        if doc_id not in self.known:
            row = self.conn.execute("SELECT 1 FROM search_docs WHERE id = ?", [doc_id])
            self.known[doc_id] = row.fetchone() is not None
        return self.known[doc_id]

    def first_free(self, base: int) -> int:
        """The smallest id from `base` on that is free now (what ``_free_id`` gave when every
        earlier video of the chunk had been written)."""
        doc_id = base
        while True:
            if doc_id in self.taken:
                doc_id += 1
            elif doc_id in self.freed or not self._in_table(doc_id):
                return doc_id
            else:  # skip the table's run of taken ids, stopping at one freed in it
                after = _free_id(self.conn, doc_id)
                freed = [i for i in self.freed if doc_id < i < after and i not in self.taken]
                if freed:
                    return min(freed)
                doc_id = after

    def free(self, doc_id: int) -> None:
        self.freed.add(doc_id)
        self.taken.discard(doc_id)

    def take(self, doc_id: int) -> None:
        self.taken.add(doc_id)


def _index_chunk(db: Database, ids: Sequence[str]) -> None:
    conn = db.conn
    marks = ",".join("?" * len(ids))
    old = {
        r[1]: r
        for r in conn.execute(
            f"SELECT id, video_id, {', '.join(FIELDS + FOLDED)} FROM search_docs "
            f"WHERE video_id IN ({marks})",
            list(ids),
        )
    }
    videos = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, title, description, tags, published_at FROM videos WHERE id IN ({marks})",
            list(ids),
        )
    }
    chapters: dict[str, list[str]] = defaultdict(list)
    for video_id, title in conn.execute(
        f"SELECT video_id, title FROM chapters WHERE video_id IN ({marks}) "
        "ORDER BY video_id, position",
        list(ids),
    ):
        chapters[video_id].append(title)

    # Plan first (the same decisions, in the same order, as writing video by video), then
    # write: one executemany per table.
    plans = []
    for video_id in ids:
        prev = old.get(video_id)
        row = videos.get(video_id)
        new = document(row[1], row[2], row[3], chapters[video_id]) if row else None
        base = doc_id_base(row[4]) if row else 0
        same_slot = prev is not None and base <= prev[0] < base + _KEEP_WITHIN
        prev_doc = dict(zip(FIELDS + FOLDED, prev[2:], strict=True)) if prev is not None else None
        if prev_doc is not None and new == {f: prev_doc[f] for f in FIELDS} and same_slot:
            continue  # most syncs change only statistics: leave the index alone
        if new is not None:
            new.update(folded_copies(new))
        plans.append((video_id, prev, prev_doc, new, base, same_slot))
    if not plans:
        return
    free_ids = _Ids(conn, (p[4] for p in plans if p[3] is not None and not p[5]))
    writes: list[tuple[int, int, dict]] = []
    deleted: list[tuple[int]] = []
    inserted: list[list] = []
    for video_id, prev, prev_doc, new, base, same_slot in plans:
        if prev is not None:
            writes.append((prev[0], 0, prev_doc))
            deleted.append((prev[0],))
            free_ids.free(prev[0])
        if new is None:
            continue
        doc_id = prev[0] if same_slot else free_ids.first_free(base)
        free_ids.take(doc_id)
        inserted.append([doc_id, video_id, *(new[f] for f in FIELDS + FOLDED)])
        writes.append((doc_id, 1, new))
    if deleted:
        conn.executemany("DELETE FROM search_docs WHERE id = ?", deleted)
    if inserted:
        conn.executemany(
            f"INSERT INTO search_docs (id, video_id, {', '.join(FIELDS + FOLDED)}) "
            f"VALUES ({', '.join('?' * (2 + len(FIELDS + FOLDED)))})",
            inserted,
        )
    _write_fts(conn, writes)
    # Transcript rows are keyed by the video's search_docs id (search/transcripts.py): a
    # video that took another id, or left, takes its cues along.
    moved = [
        (video_id, prev[0] if prev else None)
        for video_id, prev, _, new, _, same_slot in plans
        if not (prev is not None and new is not None and same_slot)
    ]
    # Imported here: the transcript rows' writer lives with their search (search/transcripts.py).
    from archivesync.db.transcript_index import rekey_videos

    rekey_videos(conn, moved)


def _free_id(conn, base: int) -> int:
    """`base`, or the first free id after the run of taken ids that starts there."""
    if conn.execute("SELECT 1 FROM search_docs WHERE id = ?", [base]).fetchone() is None:
        return base
    return conn.execute(
        "SELECT d.id + 1 FROM search_docs d WHERE d.id >= ? AND NOT EXISTS "
        "(SELECT 1 FROM search_docs e WHERE e.id = d.id + 1) ORDER BY d.id LIMIT 1",
        [base],
    ).fetchone()[0]


def index_videos(db: Database, video_ids: Iterable[str]) -> None:
    """(Re)index these videos and their chapters from ``videos`` and ``chapters``.

    Idempotent: a video whose text has not changed is left as it is, and a video that is no
    longer in ``videos`` leaves the index. Safe inside an open transaction (a savepoint then).
    """
    ids = list(dict.fromkeys(video_ids))
    if not ids:
        return
    with atomic(db.conn):
        for chunk in _chunks(ids):
            _index_chunk(db, chunk)


def rebuild_index(db: Database) -> None:
    """Index every video and its transcript cues from scratch (migration 0010, or after a
    change of tokenising or of the analyser's dictionary)."""
    with db.atomic():
        for table in FTS_TABLES:
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
        from archivesync.db.transcript_index import clear_index

        clear_index(db.conn)  # transcript rows are keyed by search_docs ids: written again
        db.execute("DELETE FROM search_docs")
        ids = [r[0] for r in db.execute("SELECT id FROM videos ORDER BY published_at, rowid")]
        for chunk in _chunks(ids):
            _index_chunk(db, chunk)
