"""Spelling variants in words search (issue 18.1), with the real SudachiPy dictionary: every
pair promised in the docs folds, both sides are folded, `--exact` turns it off, the analyser
loads only when a query needs it, and migration 0010 re-indexes what was stored before it."""

from __future__ import annotations

import json

import pytest

from archivesync.db import schema, store
from archivesync.db.migrations import MIGRATIONS
from archivesync.db.schema import open_db
from archivesync.fold import _MAX_BYTES, fold, fold_many
from archivesync.parsing import normalize_text
from archivesync.search import transcripts
from archivesync.search.query import search
from archivesync.transcripts.store import import_transcript

from .search_queries import make_resource
from .test_cli_imports import _imported

# Every pair docs/development.md and docs/ja/analysts.md promise.
PAIRS = [
    ("取組", "取り組み"),
    ("取組み", "取り組み"),
    ("子ども", "子供"),
    ("打合せ", "打ち合わせ"),
    ("問合せ", "問い合わせ"),
    ("申込み", "申し込み"),
    ("シュミレーション", "シミュレーション"),
    ("ＤＸ", "DX"),
]
NOW = "2026-01-01T00:00:00Z"
SRT = (
    "1\n00:10:00,000 --> 00:10:04,000\n来週の打合せでは\n\n"
    "2\n00:10:04,000 --> 00:10:08,000\n子どもの居場所づくりの取組を紹介します\n\n"
    "3\n00:10:08,000 --> 00:10:12,000\nご意見は問い合わせ窓口まで\n"
)


@pytest.mark.parametrize(("written", "other"), PAIRS)
def test_each_promised_pair_folds_to_one_spelling(written, other):
    assert fold(normalize_text(written)) == fold(normalize_text(other))


def test_folding_keeps_endings_particles_and_ascii():
    assert fold("取組んだ") == "取り組んだ"
    assert fold("紹介します") == "紹介します"  # not 紹介為るます
    assert fold("dx推進の取組") == "dx推進の取り組み"
    # More than one analyser call can take (49,149 bytes) is cut before analysing.
    long_cue = "子どもの取組について話します。" * 2000
    assert len(long_cue.encode()) > 2 * _MAX_BYTES
    assert fold(long_cue) == "子供の取り組みについて話します。" * 2000
    assert fold_many(["子ども", "打合せ", "dx"]) == ["子供", "打ち合わせ", "dx"]


@pytest.fixture(scope="module")
def variants_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("variants") / "archive.db"
    db = open_db(path)
    videos = [
        make_resource("vA", "子どもの居場所づくり", "地域の取組を紹介します。", ["子ども"]),
        make_resource(
            "vB", "子供の貧困対策", "市の取り組みと課題。", published="2024-05-01T00:00:00Z"
        ),
        make_resource("vC", "窓口の申込み手続き", "申し込み方法の見直し。"),
        make_resource("vD", "防災訓練", "シミュレーションを使った訓練。"),
    ]
    with db.conn:
        store.save_videos(db, videos, NOW)
        import_transcript(db, "vD", "talk.srt", SRT, "srt", NOW)
    db.close()
    return path


def _ids(rows):
    return {r["video_id"] for r in rows}


def test_every_spelling_finds_every_variant_and_exact_only_its_own(variants_db):
    db = schema.open_readonly(variants_db)
    try:
        for spelling in ("取組", "取り組み", "取組み"):
            assert _ids(search(db, spelling, where=["descriptions"])) == {"vA", "vB"}
        assert _ids(search(db, "取組", where=["descriptions"], exact=True)) == {"vA"}
        assert _ids(search(db, "取り組み", where=["descriptions"], exact=True)) == {"vB"}
        assert _ids(search(db, "子ども", where=["titles"])) == {"vA", "vB"}
        assert _ids(search(db, "子供", where=["titles"], exact=True)) == {"vB"}
        assert _ids(search(db, "申し込み", where=["titles", "descriptions"])) == {"vC"}
        assert _ids(search(db, "シュミレーション")) == {"vD"}
        assert search(db, "シュミレーション", exact=True) == []
        # 2-character words inside longer words, as before.
        assert _ids(search(db, "窓口")) >= {"vC", "vD"}
    finally:
        db.close()


def test_a_variant_said_in_a_cue_lands_on_that_cue(variants_db):
    db = schema.open_readonly(variants_db)
    try:
        for query, second in (
            ("打ち合わせ", 600),
            ("取り組み", 604),
            ("子供", 604),
            ("問合せ", 608),
        ):
            [row] = search(db, query, where=["transcripts"])
            assert [h["start_seconds"] for h in row["hits"]] == [second], query
            assert row["deep_link"].endswith(f"&t={second}s")
        assert search(db, "打ち合わせ", where=["transcripts"], exact=True) == []
    finally:
        db.close()


def test_the_analyser_loads_only_for_a_query_that_folds(variants_db, tmp_path):
    code, modules = _imported(tmp_path, "search", "--db", str(variants_db), "--exact", "取組")
    assert code == 0 and "archivesync.search.query" in modules
    assert "sudachipy" not in modules
    code, modules = _imported(tmp_path, "search", "--db", str(variants_db), "dx")
    assert code == 0 and "sudachipy" not in modules
    code, modules = _imported(tmp_path, "search", "--db", str(variants_db), "取組")
    assert code == 0 and "sudachipy" in modules  # the same probe sees it when it is needed


def test_cli_exact_flag_and_json_fields(variants_db):
    from click.testing import CliRunner

    from archivesync.cli.search import search_command

    runner = CliRunner()
    folded = runner.invoke(search_command, ["--db", str(variants_db), "--json", "取組"])
    exact = runner.invoke(search_command, ["--db", str(variants_db), "--json", "--exact", "取組"])
    assert folded.exit_code == exact.exit_code == 0
    rows = json.loads(folded.output)
    assert {r["video_id"] for r in rows} == {"vA", "vB", "vD"}
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(r["matched_by"] == ["words"] for r in rows)
    # vD says 取組 as written in a cue; vB writes only 取り組み.
    assert {r["video_id"] for r in json.loads(exact.output)} == {"vA", "vD"}


def test_migration_0010_reindexes_rows_stored_before_it(tmp_path):
    db = schema.open_db(tmp_path / "old.db", migrate=False)
    MIGRATIONS.apply(db, stop_before="0010_words_index")
    row = store.video_row(make_resource("vOld", "打合せの記録", "子どもの取組"))
    db["videos"].insert(row)
    # Rows as the transcript store wrote them before 0010 (its FTS table kept its content).
    db["caption_tracks"].insert({"id": "t1", "video_id": "vOld", "track_kind": "standard"})
    db["transcript_cues"].insert_all(
        [
            {"video_id": "vOld", "track_id": "t1", "position": 1, "start_seconds": 5.0,
             "end_seconds": 9.0, "text": "申込みは来月から"},
            {"video_id": "vOld", "track_id": "t1", "position": 2, "start_seconds": 9.0,
             "end_seconds": 12.0, "text": "です"},
        ]
    )  # fmt: skip
    db.execute("INSERT INTO search_fts_transcripts (rowid, text) VALUES (1, '申込 込み')")
    MIGRATIONS.apply(db)
    assert db.execute("SELECT count(*) FROM transcript_cues").fetchone()[0] == 2
    assert _ids(search(db, "打ち合わせ")) == {"vOld"}
    [hit] = search(db, "申し込み", where=["transcripts"])[0]["hits"]
    assert hit["start_seconds"] == 5.0
    assert search(db, "子供", where=["descriptions"])[0]["video_id"] == "vOld"
    db.close()


@pytest.mark.parametrize("cues", [12, 300])  # read past a full video's matches; skip them
def test_a_full_page_stops_early_and_skips_removed_videos(tmp_path, cues, monkeypatch):
    monkeypatch.setattr(transcripts, "_READ_ON", 100)
    # Every cue of every video holds the word: each video gives its first 5 cues, newest video
    # first, and a removed video is passed over.
    db = open_db(tmp_path / "many.db")
    srt = "\n".join(
        f"{i}\n00:{i // 60:02d}:{i % 60:02d},000 --> 00:{i // 60:02d}:{i % 60:02d},500\n"
        f"住民の声その{i}\n"
        for i in range(1, cues + 1)
    )
    videos = [
        make_resource(f"m{i}", "t", published=f"2024-0{i}-01T00:00:00Z") for i in (1, 2, 3, 4)
    ]
    with db.conn:
        store.save_videos(db, videos, NOW)
        for i in (1, 2, 3, 4):
            import_transcript(db, f"m{i}", "a.srt", srt, "srt", NOW)
        store.mark_videos_removed(db, {"m4"}, "unavailable", NOW)
    rows = search(db, "住民", where=["transcripts"], limit=2)
    assert [r["video_id"] for r in rows] == ["m3", "m2"]
    assert all([h["start_seconds"] for h in r["hits"]] == [1, 2, 3, 4, 5] for r in rows)
    everything = search(db, "住民", where=["transcripts"], limit=10, include_removed=True)
    assert [r["video_id"] for r in everything] == ["m4", "m3", "m2", "m1"]
    db.close()
