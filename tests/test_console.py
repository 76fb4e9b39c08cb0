"""What a newcomer's walk-through of the console found, each checked without a browser:
Japanese error pages, request targets by title, the search's empty answer, years, links."""

from __future__ import annotations

import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from datasette.utils import PrefixedUrlString

from archivesync import web as web_package
from archivesync.db.schema import open_db
from archivesync.demo import ROUNDTABLE, _demo_analytics
from archivesync.emulator import Emulator, load_dataset
from archivesync.sync import requests as queue
from archivesync.sync.run import Target
from archivesync.transcripts.store import import_transcript
from archivesync.web import charts
from archivesync.web.app import make_datasette

from .browser import start_server
from .helpers import SAMPLE, SAMPLE_CHANNEL
from .web_helpers import cookie_for, fetch, synced_index

LECTURE = "Ns9wE3hTq6b"
SRT = (
    "1\n00:41:12,000 --> 00:41:15,000\n人材の育成は研修だけでは\n\n"
    "2\n00:41:15,000 --> 00:41:18,000\n終わりません。人材は現場で育ちます\n"
)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    found = synced_index(tmp_path_factory.mktemp("console"))
    with Emulator(load_dataset(SAMPLE)) as emu:
        assert _demo_analytics(str(found["db"]), emu, SAMPLE_CHANNEL).exit_code == 0
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
    "q, where", [("研修だけ", ["transcripts"]), ("オープンデータ", ["chapters"]),
                 ("人材", ["titles", "transcripts", "other"]), ("人材", [])],
)  # fmt: skip
def test_a_search_links_to_a_datasette_query_finding_the_same(ds, q, where):
    [page] = fetch(ds, ("get", "/-/search", {"params": {"q": q, "in": where}}))
    link = unescape(re.search(r'<a href="([^"]+)">Datasette の検索クエリ</a>', page.text)[1])
    assert link.startswith("/archive/search_results?q=")
    console_videos = re.findall(r'data-video="([^"]+)"', page.text)
    as_json = link.replace("search_results?", "search_results.json?") + "&_shape=objects"
    answer, html = fetch(ds, ("get", as_json, {}), ("get", link, {}))
    assert "<title>コンソールの検索結果" in html.text
    rows = answer.json()["rows"]
    assert console_videos and [r["video_id"] for r in rows if r["kind"] == "video"] == (
        console_videos
    )
    spoken = {r["video_id"] for r in rows if r["kind"] == "transcript"}
    assert bool(spoken) == ("transcripts" in where or not where)


def _ticks(svg: str) -> list[str]:
    return re.findall(r'<text class="tick" x="58" [^>]*>([^<]*)</text>', str(svg))


def test_count_axes_have_whole_number_ticks_and_hours_read_h_mm():
    for top in (1, 3, 5, 7, 13, 250):
        assert all(t == int(t) for t in charts.ticks(top)), top
        assert charts.ticks(top)[-1] >= top
    counts = _ticks(charts.bar_chart("本数", ["2024-01", "2024-02"], [2, 5]))
    assert counts == ["0", "2", "4", "6"]
    hours = _ticks(charts.bar_chart("時間", ["a", "b"], [0.5, 2.25], y_format=charts.hours_label,
                                    integer=False))  # fmt: skip
    assert hours and all(re.fullmatch(r"\d+:[0-5]\d", t) for t in hours), hours
    assert charts.hours_label(1.5) == "1:30" and charts.hours_label(2.25) == "2:15"


def test_the_last_x_label_is_shown_inside_the_chart():
    labels = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 12)]
    svg = str(charts.bar_chart("本数", labels, [1] * len(labels)))
    last = re.search(
        r'<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">2025-11<', svg
    )
    assert last, "the last month has no label"
    assert last[2] == "end" and float(last[1]) <= charts.WIDTH - charts.RIGHT


def test_a_single_observation_is_a_bar_with_its_figure():
    from datetime import date

    svg = str(charts.line_chart("再生回数", [(date(2026, 11, 28), 1234)]))
    assert "<polyline" not in svg and svg.count('class="bar"') == 1
    assert '<text class="figure"' in svg and "1,234" in svg


def test_channel_and_video_charts_read_in_text_and_chapter_note_only_with_chapters(ds, index):
    channel, with_chapters = fetch(
        ds, ("get", f"/-/channel/{SAMPLE_CHANNEL}", {}), ("get", f"/-/video/{ROUNDTABLE}", {})
    )
    hours = channel.text.split('id="hours-chart"', 1)[1].split("</figure>", 1)[0]
    assert _ticks(hours) and all(re.fullmatch(r"\d+:[0-5]\d", t) for t in _ticks(hours))
    assert '<table class="chart-data">' in hours and "最大は" in hours
    uploads = channel.text.split('id="uploads-chart"', 1)[1].split("</figure>", 1)[0]
    assert _ticks(uploads) and all(t.isdigit() for t in _ticks(uploads))
    retention = with_chapters.text.split('id="retention-chart"', 1)[1].split("</figure>", 1)[0]
    assert "縦線はチャプターの始まり" in retention and 'class="chapter"' in retention
    # The same video without its chapters: no lines, and no caption speaking of them.
    conn = sqlite3.connect(index["db"])
    with conn:
        saved = conn.execute("SELECT * FROM chapters WHERE video_id = ?", [ROUNDTABLE]).fetchall()
        conn.execute("DELETE FROM chapters WHERE video_id = ?", [ROUNDTABLE])
    try:
        [without] = fetch(ds, ("get", f"/-/video/{ROUNDTABLE}", {}))
    finally:
        with conn:
            marks = ",".join("?" * len(saved[0]))
            conn.executemany(f"INSERT INTO chapters VALUES ({marks})", saved)
        conn.close()
    retention = without.text.split('id="retention-chart"', 1)[1].split("</figure>", 1)[0]
    assert "縦線" not in retention and 'class="chapter"' not in retention


def test_a_post_without_a_valid_csrf_token_gets_the_japanese_page_over_http(index):
    """Over real HTTP to `archivesync serve`: a staff member's resync form sent with no token
    or a wrong one is refused with the console's page (403) saying to reload and try again;
    the same form with the page's token is accepted."""
    server, url = start_server(index["db"], None, "--users", str(index["users"]))
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

        def post(path: str, form: dict):
            body = urllib.parse.urlencode(form).encode()
            try:
                return opener.open(urllib.request.Request(url + path, data=body), timeout=10)
            except urllib.error.HTTPError as e:
                return e

        def token(path: str) -> str:
            with opener.open(url + path, timeout=10) as page:
                return re.search(r'name="csrftoken" value="([^"]+)"', page.read().decode())[1]

        signed_in = post("/-/login", {"csrftoken": token("/-/login"), "username": "tanaka",
                                      "password": "correct-horse-42"})  # fmt: skip
        assert signed_in.status == 302, signed_in.read().decode()
        good = token("/-/resync")
        form = {"kind": "videos", "videos": LECTURE}
        for sent in ({}, {"csrftoken": good[::-1]}):
            refused = post("/-/resync", {**form, **sent})
            text = refused.read().decode()
            assert refused.status == 403, text
            assert refused.headers["content-type"].startswith("text/html")
            assert '<html lang="ja">' in text and "/-/console/console.css" in text
            assert "ページを再読み込みしてから、もう一度お試しください" in text
            assert "did not match" not in text and "CSRF" not in text
            assert refused.headers["content-security-policy"]  # the guard's headers still
        accepted = post("/-/resync", {**form, "csrftoken": good})
        assert accepted.status in (302, 303), accepted.read().decode()
        assert "/-/requests/" in accepted.headers["location"]
    finally:
        server.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


WEB = Path(web_package.__file__).parent
BASE = "/archive-app/"


def test_console_templates_and_scripts_write_no_path_of_their_own():
    """Every console URL goes through Datasette's `urls` (so `base_url` holds): no template
    attribute starts with a literal "/", every literal console path sits inside urls.path(),
    and the scripts take their URLs from the page."""
    for template in sorted((WEB / "templates" / "console").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert not re.findall(r'(?:href|action|src|data-[\w-]+)="/', text), template.name
        for found in re.finditer(r"""["']/(?:-/)?[\w./-]*["']""", text):
            before = text[: found.start()]
            assert before.endswith("urls.path("), f"{template.name}: {found[0]} by hand"
    for script in sorted((WEB / "static").glob("*.js")):
        text = script.read_text(encoding="utf-8")
        assert not re.findall(r"""["'`]/[^"'`\s]*""", text), script.name


def test_the_console_works_under_a_base_url(index):
    """Behind a proxy at /archive-app/ (Datasette's `base_url`): every link, form and script of
    the pages starts with it, the request page polls its JSON there, and the staff-only and
    CSRF refusals still hold."""
    ds = make_datasette(index["db"], users_file=index["users"], base_url=BASE)
    staff = cookie_for(ds, "tanaka")
    paths = [
        "/",
        "/-/search?q=人材",
        f"/-/video/{LECTURE}",
        f"/-/channel/{SAMPLE_CHANNEL}",
        "/-/requests",
        f"/-/requests/{index['video_request']}",
        "/-/resync",
        "/-/video/notAVideo00",
        "/archive",
    ]
    pages = fetch(ds, *[("get", p, {"cookies": staff}) for p in paths])
    for path, page in zip(paths, pages, strict=True):
        assert page.status_code == (404 if "notAVideo" in path else 200), path
        links = re.findall(r'(?:href|action|src|data-state-url)="(/[^"]*)"', page.text)
        assert links and not [x for x in links if not x.startswith(BASE)], (path, links)
    request_page = pages[paths.index(f"/-/requests/{index['video_request']}")].text
    state_url = unescape(re.search(r'data-state-url="([^"]+)"', request_page)[1])
    menu = pages[paths.index("/-/search?q=人材")].text.split("<nav", 1)[1].split("</nav>")[0]
    off_site = {"username": "tanaka", "password": "correct-horse-42", "next": "//evil.example/"}
    [state, threads, refused, signed_in] = fetch(
        ds,
        ("get", PrefixedUrlString(state_url), {"cookies": staff}),
        ("get", "/-/threads", {"cookies": cookie_for(ds, "sato")}),
        ("post", "/-/resync", {"cookies": staff, "data": {"kind": "videos", "videos": LECTURE}}),
        ("post", "/-/login", {"data": off_site}),
    )
    # An unsafe `next` after login goes to the console's own root, not the host's.
    assert signed_in.status_code == 302 and signed_in.headers["location"] == BASE
    assert state.status_code == 200 and state.json()["id"] == index["video_request"]
    assert re.search(rf'href="{BASE}-/search" aria-current="page"', menu)
    assert threads.status_code == 403  # Datasette's pages about the server: staff only
    assert refused.status_code == 403 and "ページを再読み込み" in refused.text


def _table_rows(table: str) -> list[list[str]]:
    return [
        re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])
    ]


def test_a_long_daily_series_is_tabled_by_month_and_a_short_one_day_by_day():
    from datetime import date, timedelta

    start = date(2022, 1, 1)
    days = [((start + timedelta(d)).isoformat(), d % 7) for d in range(1_700)]
    daily = charts.Figures("日別の再生回数", "日付", rows=days, by_month="sum")
    rows = _table_rows(daily.table())
    months = sorted({label[:7] for label, _ in days})
    assert [r[0] for r in rows] == months  # one row a month, not 1,700
    january = [v for label, v in days if label.startswith("2022-01")]
    assert rows[0] == ["2022-01", str(sum(january)), charts.count_label(sum(january) / 31), "31"]
    assert "1,700 件" in str(daily.table()) and "<caption>" in str(daily.table())
    assert "2022-01-01〜" in daily.summary()  # the sentence still speaks of the days
    # A running total gives each month's last observation.
    total = charts.Figures("累計再生回数", "観測日", rows=days, by_month="last")
    assert _table_rows(total.table())[0] == ["2022-01", "2", "2022-01-31"]
    # Short: every day as it is.
    short = charts.Figures("日別の再生回数", "日付", rows=days[:30], by_month="sum")
    assert _table_rows(short.table()) == [[label, str(v)] for label, v in days[:30]]


def test_the_video_pages_daily_views_table_stays_short(ds):
    [page] = fetch(ds, ("get", f"/-/video/{ROUNDTABLE}", {}))
    figure = page.text.split('id="daily-chart"', 1)[1].split("</figure>", 1)[0]
    days = int(re.search(r"の ([\d,]+) 件。", figure)[1].replace(",", ""))
    rows = _table_rows(figure)
    assert days > charts.LONG_DAILY  # the sample's analytics are long enough to matter
    assert 1 <= len(rows) <= days / 28 + 1, len(rows)
    # The figures day by day stay one link away, in Datasette.
    link = re.search(r'<a href="([^"]+)">video_daily_metrics', page.text)[1]
    [table] = fetch(ds, ("get", unescape(link).replace("?", ".json?") + "&_size=max", {}))
    assert table.status_code == 200 and len(table.json()["rows"]) == min(days, 1000)
