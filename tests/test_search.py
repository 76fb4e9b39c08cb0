"""Search: exactly the videos whose text holds every word, Japanese of any length included."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from archivesync.bigrams import bigram_text, document
from archivesync.cli.search import search_command
from archivesync.db import schema, store
from archivesync.db.migrations import MIGRATIONS
from archivesync.db.schema import open_db, open_readonly
from archivesync.db.search_index import FTS_TABLES, index_videos, rebuild_index
from archivesync.errors import EmptyQuery
from archivesync.search.query import TIERS, search
from archivesync.search.text import (
    SearchQuery,
)

from .search_queries import (
    HAND_LABELLED,
    NOW,
    QUERIES,
    REMOVED,
    VIDEOS,
    brute_force,
    build,
    make_resource,
)


@pytest.fixture(scope="module")
def corpus_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "archive.db"
    db = open_db(path)
    build(db)
    db.close()
    return path


@pytest.fixture
def ro(corpus_path):
    db = open_readonly(corpus_path)
    yield db
    db.close()


def ids(hits):
    return {h["video_id"] for h in hits}


# --------------------------------------------------------------------------------------------
# The labelled query set: precision and recall 1.0
# --------------------------------------------------------------------------------------------


def test_the_labelled_set_is_big_enough():
    assert len(VIDEOS) >= 40
    assert len(QUERIES) >= 25
    # Every query must be able to tell a wrong index from a right one.
    assert sum(bool(brute_force(q)) for q in QUERIES) >= 25


@pytest.mark.parametrize("query", QUERIES)
def test_precision_and_recall_are_one(ro, query):
    expected = brute_force(query)
    found = ids(search(ro, query, limit=1000))
    assert found - expected == set(), "false hits"
    assert expected - found == set(), "missed videos"


@pytest.mark.parametrize(("query", "expected"), sorted(HAND_LABELLED.items()))
def test_hand_labelled_queries(ro, query, expected):
    # The brute force is the definition; a person reading the corpus agrees with it here.
    assert brute_force(query) == expected
    assert ids(search(ro, query, limit=1000)) == expected


@pytest.mark.parametrize(
    ("query", "words"),
    [("人材", 1), ("防災", 1), ("窓口", 1), ("DX", 1), ("AI", 1), ("市", 1), ("人材 育成", 2)],
)
def test_short_japanese_words_and_acronyms_are_found_inside_longer_text(ro, query, words):
    hits = search(ro, query, limit=1000)
    assert len(hits) >= 3
    # e.g. 人材 inside 人材育成, DX inside 自治体DX推進: no word boundary needed.
    assert ids(hits) == brute_force(query)


def test_full_and_half_width_and_case_are_the_same_query(ro):
    forms = ["DX", "dx", "ＤＸ", "ｄｘ", "Dx"]
    results = [ids(search(ro, f, limit=1000)) for f in forms]
    assert all(r == results[0] for r in results)
    assert {"vid006", "vid019", "vid021"} <= results[0]


# --------------------------------------------------------------------------------------------
# Ranking and result shape
# --------------------------------------------------------------------------------------------


def test_title_hits_then_chapter_hits_then_the_rest(ro):
    # The score's whole part is the tier (TIERS: title 4, chapter 3, description 1).
    hits = search(ro, "質疑応答", limit=1000)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    assert {int(s) for s in scores} == {TIERS["chapter"]}  # 質疑応答 is never in a title here
    hits = search(ro, "防災", limit=1000)
    tiers = {h["video_id"]: int(h["score"]) for h in hits}
    assert tiers["vid016"] == TIERS["title"]  # 防災訓練の新しいかたち
    assert tiers["vid042"] == TIERS["chapter"]  # chapter "研究報告2 防災"
    assert tiers["vid013"] == TIERS["description"]  # only in its description
    order = [h["score"] for h in hits]
    assert order == sorted(order, reverse=True)
    assert all(h["matched_by"] == ["words"] for h in hits)
    # Newest first within a tier.
    titles = [h["published_at"] for h in hits if int(h["score"]) == TIERS["title"]]
    assert titles == sorted(titles, reverse=True)


def test_a_chapter_hit_carries_the_chapter_and_a_deep_link(ro):
    (hit,) = [h for h in search(ro, "グループワーク") if h["video_id"] == "vid029"]
    assert hit["chapter_position"] == 4
    assert hit["chapter_title"] == "グループワーク"
    assert hit["start_seconds"] == 50 * 60
    assert hit["chapter_url"] == "https://www.youtube.com/watch?v=vid029&t=3000s"
    assert hit["url"] == "https://www.youtube.com/watch?v=vid029"
    assert set(hit) >= {
        "video_id",
        "title",
        "url",
        "published_at",
        "duration_seconds",
        "chapter_position",
        "chapter_title",
        "start_seconds",
        "chapter_url",
        "score",
    }


def test_the_chapter_holding_most_words_is_the_one_linked(ro):
    # Chapter 3 "研究報告1 生成ＡＩ" holds one word, chapter 4 "研究報告2 防災" both.
    (hit,) = search(ro, "研究報告 防災")
    assert hit["video_id"] == "vid042"
    assert (hit["chapter_position"], hit["chapter_title"]) == (4, "研究報告2 防災")
    # With one word in each, the first chapter holding it.
    (hit,) = search(ro, "研究報告")
    assert (hit["chapter_position"], hit["chapter_title"]) == (3, "研究報告1 生成ＡＩ")


def test_no_chapter_fields_when_no_chapter_matched(ro):
    (hit,) = [h for h in search(ro, "DMO") if h["video_id"] == "vid012"]
    assert hit["chapter_position"] is None
    assert hit["chapter_title"] is None
    assert hit["start_seconds"] is None
    assert hit["chapter_url"] is None


def test_limit(ro):
    assert len(search(ro, "研修", limit=3)) == 3
    everything = search(ro, "研修", limit=1000)
    assert search(ro, "研修", limit=3) == everything[:3]


# --------------------------------------------------------------------------------------------
# Removed videos, empty queries, syntax
# --------------------------------------------------------------------------------------------


def test_removed_videos_are_left_out_unless_asked_for(ro):
    assert "vid043" not in ids(search(ro, "防災", limit=1000))
    with_removed = search(ro, "防災", limit=1000, include_removed=True)
    assert ids(with_removed) == brute_force("防災", include_removed=True)
    (removed,) = [h for h in with_removed if h["video_id"] in REMOVED]
    assert removed["removed_at"] == NOW


@pytest.mark.parametrize("query", ["", "   ", "\u3000", "\t\n"])
def test_an_empty_query_is_an_error(ro, query):
    with pytest.raises(EmptyQuery):
        search(ro, query)


@pytest.mark.parametrize(
    "query",
    ['"', '""', "*", "NEAR(", ")", "(", "-", ":", "AND", "OR", "NOT", "^", "{title}:",
     'a" OR "b', "NEAR(a b, 2)", "x:y", "'", "\\", "*" * 5],
)  # fmt: skip
def test_fts_syntax_is_never_an_error(ro, query):
    assert ids(search(ro, query, limit=1000)) == brute_force(query)


def test_the_match_expression_holds_no_fts_operator():
    query = SearchQuery('"x" NEAR(a) -b c:d e* (f) AND')
    expression = query.match_expression()
    # Every word is one quoted phrase of tokens that hold no ASCII punctuation.
    inner = expression.replace('" AND "', "").replace('"* AND "', "")
    assert not set(inner.strip('"*')) & set('"():*-^{}+')


# --------------------------------------------------------------------------------------------
# Index maintenance
# --------------------------------------------------------------------------------------------


def test_tokenising():
    assert bigram_text("人材育成") == "人材 材育 育成 成"
    assert bigram_text("dx 防災") == "dx x 防災 災"
    assert document("ＤＸ", None, '["防災", "AI"]', ["開会", "質疑応答"]) == {
        "title": "dx",
        "description": "",
        "tags": "防災\nai",
        "chapters": "開会\n質疑応答",
    }


def _db(tmp_path):
    return open_db(tmp_path / "x.db")


def _count(db):
    return db.execute("SELECT count(*) FROM search_docs").fetchone()[0]


def test_index_videos_is_idempotent_and_follows_edits(tmp_path):
    db = _db(tmp_path)
    store.save_videos(db, [make_resource("a", "防災セミナー", "人材育成の話")], NOW)
    index_videos(db, ["a"])
    index_videos(db, ["a", "a"])
    assert _count(db) == 1
    assert ids(search(db, "人材")) == {"a"}
    store.save_videos(db, [make_resource("a", "防災セミナー", "窓口改革の話")], NOW)
    index_videos(db, ["a"])
    assert ids(search(db, "人材")) == set()
    assert ids(search(db, "窓口")) == {"a"}
    assert _count(db) == 1
    # No stale row is left in any FTS table (it would still match 人材).
    for table in FTS_TABLES:
        sql = f"SELECT count(*) FROM {table} WHERE {table} MATCH ?"
        assert db.execute(sql, ['"人材"']).fetchone()[0] == 0
        assert db.execute(sql, ['"窓口"']).fetchone()[0] == (table == "search_fts")


def test_index_follows_chapters_and_publication_changes(tmp_path):
    db = _db(tmp_path)
    description = "0:00 開会\n1:00 防災の話\n2:00 閉会"
    store.save_videos(db, [make_resource("a", "講演", description, duration="PT10M")], NOW)
    index_videos(db, ["a"])
    assert search(db, "防災")[0]["chapter_position"] == 2
    moved = make_resource("a", "講演", description, published="2030-01-01T00:00:00Z")
    store.save_videos(db, [moved], NOW)
    index_videos(db, ["a"])
    assert ids(search(db, "防災")) == {"a"}
    assert _count(db) == 1


def test_a_video_gone_from_videos_leaves_the_index(tmp_path):
    db = _db(tmp_path)
    store.save_videos(db, [make_resource("a", "防災"), make_resource("b", "防災")], NOW)
    index_videos(db, ["a", "b"])
    db.execute("DELETE FROM videos WHERE id = 'a'")
    index_videos(db, ["a"])
    assert ids(search(db, "防災")) == {"b"}


def test_index_videos_inside_a_transaction_rolls_back_with_it(tmp_path):
    db = _db(tmp_path)
    store.save_videos(db, [make_resource("a", "防災")], NOW)
    index_videos(db, ["a"])
    with pytest.raises(RuntimeError), db.atomic():
        store.save_videos(db, [make_resource("b", "防災")], NOW)
        index_videos(db, ["b"])
        assert ids(search(db, "防災")) == {"a", "b"}
        raise RuntimeError("the page failed")
    assert ids(search(db, "防災")) == {"a"}
    assert db.execute("SELECT count(*) FROM videos").fetchone()[0] == 1


def test_rebuild_gives_the_same_answers(tmp_path):
    db = _db(tmp_path)
    build(db)
    before = {q: search(db, q, limit=1000) for q in QUERIES}
    rebuild_index(db)
    assert {q: search(db, q, limit=1000) for q in QUERIES} == before


def test_migration_indexes_videos_saved_before_it(tmp_path):
    db = schema.open_db(tmp_path / "old.db", migrate=False)
    MIGRATIONS.apply(db, stop_before="0003_search_index")
    # Rows as an archivesync without search wrote them (save_videos now indexes as it saves).
    for resource in VIDEOS:
        row = store.video_row(resource)
        db["videos"].insert(row)
        db["chapters"].insert_all(
            store.chapter_rows(row["id"], row["description"], row["duration_seconds"])
        )
    assert not db["search_fts"].exists()
    MIGRATIONS.apply(db)
    assert ids(search(db, "人材", limit=1000)) == brute_force("人材", include_removed=True)


def test_videos_published_in_the_same_second_get_their_own_rows(tmp_path):
    db = _db(tmp_path)
    same = "2024-01-01T00:00:00Z"
    store.save_videos(db, [make_resource(f"v{i}", "防災", published=same) for i in range(5)], NOW)
    index_videos(db, [f"v{i}" for i in range(5)])
    assert len(search(db, "防災")) == 5


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(search_command, [*map(str, args)])


def test_cli_plain_text(corpus_path):
    result = run("--db", corpus_path, "グループワーク")
    assert result.exit_code == 0, result.output
    blocks = result.output.strip().split("\n\n")
    assert len(blocks) == 3
    block = next(b for b in blocks if "vid029" in b)
    assert block.splitlines() == [
        "新任管理職研修 マネジメントの基礎",
        "  https://www.youtube.com/watch?v=vid029&t=3000s",
        "  chapter 4 at 0:50:00: グループワーク",
    ]


def test_cli_json(corpus_path):
    result = run("--db", corpus_path, "--json", "--limit", "2", "防災")
    assert result.exit_code == 0
    hits = json.loads(result.output)
    assert len(hits) == 2
    assert all(h["video_id"] not in REMOVED for h in hits)
    result = run("--db", corpus_path, "--json", "--include-removed", "--limit", "100", "防災")
    assert {h["video_id"] for h in json.loads(result.output)} >= REMOVED


def test_cli_words_are_joined_and_dash_words_are_literal(corpus_path):
    result = run("--db", corpus_path, "--json", "-除外語")
    assert result.exit_code == 0, result.output
    assert {h["video_id"] for h in json.loads(result.output)} == {"vid013"}
    result = run("--db", corpus_path, "--json", "人材", "育成")
    assert {h["video_id"] for h in json.loads(result.output)} == brute_force("人材 育成")


def test_cli_empty_query_is_a_usage_error(corpus_path):
    result = run("--db", corpus_path, "\u3000")
    assert result.exit_code == 2
    assert "empty" in result.output
    assert "Traceback" not in result.output


def test_cli_no_hits(corpus_path):
    result = run("--db", corpus_path, "存在しない語")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_cli_missing_database(tmp_path):
    result = run("--db", tmp_path / "nope.db", "防災")
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_batched_normalisation_equals_normalising_each_text_alone():
    """search normalises a video's texts in one call; it must agree with parsing's rule."""
    from archivesync.bigrams import _normalize_many
    from archivesync.emulator import synthetic_dataset
    from archivesync.parsing import normalize_text

    dataset = synthetic_dataset(300)
    tricky = ["ＤＸ\u3000推進", "ｾﾐﾅｰ", "㍻の話\n\n  行", "ﬁnal ½", "", None, " 前後 ", "a\tb\r\nc"]
    for video_id in dataset.video_ids():
        snippet = dataset.get_video(video_id)["snippet"]
        texts = [snippet["title"], snippet["description"], *snippet.get("tags", []), *tricky]
        assert _normalize_many(texts) == [normalize_text(t) for t in texts]


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [
        (["--limt", "3", "DX"], "--limit"),
        (["人材", "--jsno"], "--json"),
        (["--include-removd", "人材"], "--include-removed"),
    ],
)
def test_cli_a_mistyped_option_is_a_usage_error(corpus_path, args, suggestion):
    result = run("--db", corpus_path, *args)
    assert result.exit_code == 2, result.output
    assert "No such option" in result.output
    # click may offer several close names ('--in' is close to '--limt'); ours must be one.
    assert "Did you mean" in result.output and f"'{suggestion}'" in result.output


def test_cli_a_query_starting_with_a_dash_goes_after_double_dash(corpus_path):
    result = run("--db", corpus_path, "--json", "--", "--limt")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    result = run("--db", corpus_path, "--json", "--", "-除外語")
    assert {h["video_id"] for h in json.loads(result.output)} == {"vid013"}
