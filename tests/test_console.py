"""What a newcomer's walk-through of the console found, each checked without a browser:
Japanese error pages, request targets by title, the search's empty answer, years, links."""

from __future__ import annotations

import re
from html import unescape

import pytest

from archivesync.db.schema import open_db
from archivesync.sync import requests as queue
from archivesync.sync.run import Target
from archivesync.transcripts.store import import_transcript
from archivesync.web.app import make_datasette

from .helpers import SAMPLE_CHANNEL
from .web_helpers import cookie_for, fetch, synced_index

LECTURE = "Ns9wE3hTq6b"
SRT = (
    "1\n00:41:12,000 --> 00:41:15,000\n人材の育成は研修だけでは\n\n"
    "2\n00:41:15,000 --> 00:41:18,000\n終わりません。人材は現場で育ちます\n"
)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    found = synced_index(tmp_path_factory.mktemp("console"))
    db = open_db(found["db"], migrate=False)
    try:
        with db.conn:
            import_transcript(db, LECTURE, "talk.srt", SRT, "srt", "2026-11-28T00:00:00Z")
        found["video_request"] = queue.enqueue(
            db, Target("videos", [LECTURE, "zzzzzzzzzzz"]), "tanaka"
        )
        found["channel_request"] = queue.enqueue(
            db, Target("channel", [SAMPLE_CHANNEL], full=True), "tanaka"
        )
        found["lecture_title"] = db["videos"].get(LECTURE)["title"]
        found["channel_title"] = db["channels"].get(SAMPLE_CHANNEL)["title"]
        found["years"] = sorted(
            {
                int(r[0])
                for r in db.conn.execute(
                    "SELECT strftime('%Y', published_at, '+9 hours') FROM videos"
                )
            },
            reverse=True,
        )
    finally:
        db.close()
    return found


@pytest.fixture(scope="module")
def ds(index):
    return make_datasette(index["db"], users_file=index["users"])


def test_missing_pages_and_refusals_are_the_consoles_japanese_page(ds):
    paths = [
        "/-/video/notAVideo00",
        "/-/requests/987654",
        "/archive/no_such_table",
        "/no-such-page",
    ]
    answers = fetch(ds, *[("get", p, {}) for p in paths])
    answers += fetch(ds, ("get", "/-/resync", {"cookies": cookie_for(ds, "sato")}))
    for path, response in zip([*paths, "/-/resync as analyst"], answers, strict=True):
        expected = 403 if "analyst" in path else 404
        assert response.status_code == expected, path
        assert '<html lang="ja">' in response.text, path
        assert 'href="/-/console/console.css"' in response.text, path  # the console's layout
        assert "Error 404" not in response.text and "Forbidden" not in response.text, path
    assert "ページが見つかりません" in answers[0].text
    assert "その動画はインデックスにありません" in answers[0].text
    assert "その依頼はありません" in answers[1].text
    assert "この操作は許可されていません" in answers[4].text
    assert "再同期は職員アカウントのみ" in answers[4].text
    # A JSON request keeps a JSON error.
    [as_json] = fetch(ds, ("get", "/archive/no_such_table.json", {}))
    assert as_json.status_code == 404 and as_json.headers["content-type"].startswith(
        "application/json"
    )


def test_requests_name_their_targets_by_title_linked_to_their_page(ds, index):
    one, history = fetch(
        ds, ("get", f"/-/requests/{index['video_request']}", {}), ("get", "/-/requests", {})
    )
    targets = one.text.split('id="targets"', 1)[1].split("</p>", 1)[0]
    assert f'<a href="/-/video/{LECTURE}">{index["lecture_title"]}</a>' in unescape(targets)
    assert "zzzzzzzzzzz (未同期)" in targets  # not in the index yet: its id, said so
    assert "videos " not in targets and "<code>" not in targets
    cells = re.findall(r'<td class="targets">(.*?)</td>', history.text, re.S)
    assert any(f'<a href="/-/channel/{SAMPLE_CHANNEL}">' in c for c in cells)
    assert any(index["channel_title"] in unescape(c) for c in cells)
    assert not any(c.startswith("<code>") for c in cells)


def test_no_hits_is_a_sentence_without_a_csv_link(ds):
    [page] = fetch(ds, ("get", "/-/search?q=存在しない語句ぴよぴよ", {}))
    assert page.status_code == 200
    assert "該当する動画はありません" in page.text
    assert '<ol class="results">' not in page.text and "format=csv" not in page.text


def test_the_year_filter_lists_the_years_the_index_holds(ds, index):
    [page] = fetch(ds, ("get", "/-/search", {}))
    select = page.text.split('name="year"', 1)[1].split("</select>", 1)[0]
    years = [int(y) for y in re.findall(r'<option value="(\d{4})"', select)]
    assert years == index["years"] and len(years) >= 1


@pytest.mark.parametrize(
    "q, where, query, title",
    [
        ("研修だけ", "transcripts", "transcripts_matching", "字幕を検索"),
        ("オープンデータ", "chapters", "chapters_matching", "チャプターを検索"),
    ],
)
def test_a_search_links_to_a_datasette_query_finding_the_same(ds, q, where, query, title):
    [page] = fetch(ds, ("get", f"/-/search?q={q}&in={where}", {}))
    link = unescape(re.search(r'<a href="([^"]+)">Datasette の検索クエリ</a>', page.text)[1])
    assert link.startswith(f"/archive/{query}?q=")
    console_videos = set(re.findall(r'data-video="([^"]+)"', page.text))
    as_json = link.replace(f"{query}?", f"{query}.json?") + "&_shape=objects"
    answer, html, videos = fetch(
        ds,
        ("get", as_json, {}),
        ("get", link, {}),
        ("get", "/archive/videos.json?_shape=objects&_size=max&_col=title", {}),
    )
    assert f"<title>{title}" in html.text
    title_of = {row["id"]: row["title"] for row in videos.json()["rows"]}
    found = {row["video_title"] for row in answer.json()["rows"]}
    assert found and found == {title_of[v] for v in console_videos}
