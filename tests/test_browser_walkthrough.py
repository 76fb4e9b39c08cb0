"""What a newcomer's walk-through of the console found (issue 19, section 4), proven in a real
Chromium: request targets by title, Japanese error pages, the search's Datasette link, the
empty answer, the year filter, the charts, and the CSV and Excel downloads.

test_console.py, test_excel.py and test_search_surfaces.py check the same over HTTP; here the
browser renders the pages, follows the links and saves the downloads. What test_browser.py
already proves in the browser is not repeated: the cue highlighted on opening a hit, the
overview's internals (hidden from analysts, behind a toggle for staff) and its quota reset time
on one line at 375 px, the chapter lines drawn on a video with chapters. A single observation
is checked here once more, by its geometry: test_browser.py counts its parts.

One site (tests/browser_fixtures.py), one browser, a signed-in analyst and a visitor for the
module. A second, small channel is added to the index here: a month never holds more than one
of its videos (a count axis whose old ticks were 0, 0.5, 1), one of them was published on New
Year's Eve in UTC, which is already the next year in Japan, and has a single view count
observation (the daemon, which runs the module's queued requests, never touches this channel).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from archivesync.db.schema import open_db
from archivesync.db.search_index import index_videos
from archivesync.demo import ROUNDTABLE
from archivesync.sync import requests as queue
from archivesync.sync.run import Target
from archivesync.web import charts
from archivesync.web.browse import SEARCH_COLUMNS

from .browser import VIEWPORT, login, shot, skip_without_chromium
from .browser_fixtures import LECTURE, STAFF
from .helpers import SAMPLE_CHANNEL

skip_without_chromium()

TOKYO = ZoneInfo("Asia/Tokyo")
NO_CHAPTERS = "Gf1pR6yLk4x"  # a sample lecture with retention figures and no chapters
SECOND_CHANNEL = "UCwalkThroughSecond0000a"
SECOND_TITLE = "研修アーカイブ第二"
# (id, title, published_at in UTC, seconds): one video a month.
SECOND_VIDEOS = [
    ("wkNewYear01", "年末年始の窓口業務", "2019-12-31T15:30:00Z", 1800),
    ("wkMarch0002", "年度末の事務引継ぎ", "2020-03-01T00:00:00Z", 2700),
]
ONE_OBSERVATION = 1234
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# An x-axis label: the tick texts below the plot (charts.py writes them at this height).
X_LABEL = f"text.tick[y='{charts.HEIGHT - charts.BOTTOM + 18}']"
SEARCH_LABELS = [c.label for c in SEARCH_COLUMNS]
COLUMN = {c.key: i for i, c in enumerate(SEARCH_COLUMNS)}


@pytest.fixture(scope="module")
def walk(site):
    """The site plus a second channel, and two queued requests (a video, a channel)."""
    db = open_db(site["db"], migrate=False)
    try:
        with db.conn:
            db["channels"].insert({"id": SECOND_CHANNEL, "title": SECOND_TITLE})
            for video_id, title, published, seconds in SECOND_VIDEOS:
                db["videos"].insert(
                    {"id": video_id, "channel_id": SECOND_CHANNEL, "title": title,
                     "published_at": published, "duration_seconds": seconds,
                     "url": f"https://www.youtube.com/watch?v={video_id}"}
                )  # fmt: skip
            # One observation of its view count (the daemon never syncs this channel).
            db["video_stats"].insert(
                {"video_id": SECOND_VIDEOS[0][0], "observed_at": "2026-11-28T00:00:00Z",
                 "view_count": ONE_OBSERVATION}
            )  # fmt: skip
            index_videos(db, [v[0] for v in SECOND_VIDEOS])  # searchable, as a sync leaves them
        found = {
            "video_request": queue.enqueue(db, Target("videos", [LECTURE]), STAFF),
            "channel_request": queue.enqueue(db, Target("channel", [SAMPLE_CHANNEL]), STAFF),
            "lecture_title": db["videos"].get(LECTURE)["title"],
            "channel_title": db["channels"].get(SAMPLE_CHANNEL)["title"],
        }
    finally:
        db.close()
    return {**site, **found}


@pytest.fixture(scope="module")
def contexts(browser, walk):
    """A browser context for a visitor and one for the analyst (signed in once)."""
    made = {}
    for who in ("visitor", "analyst"):
        context = browser.new_context(
            viewport=VIEWPORT, locale="ja-JP", timezone_id="Asia/Tokyo", accept_downloads=True
        )
        # Hermetic: nothing leaves loopback.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        if who == "analyst":
            pg = context.new_page()
            login(pg, walk, *walk["analyst"])
            pg.wait_for_url(walk["url"] + "/")
            pg.close()
        made[who] = context
    yield made
    for context in made.values():
        context.close()


@pytest.fixture
def analyst(contexts):
    pg = contexts["analyst"].new_page()
    pg.set_default_timeout(10_000)
    yield pg
    pg.close()


def _db_rows(db, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _jst(utc: str) -> datetime:
    """A stored UTC time as a naive Tokyo time (as a spreadsheet holds it)."""
    return datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(TOKYO).replace(tzinfo=None)


# --- requests ------------------------------------------------------------------------------


def test_a_request_names_its_video_by_title_linked_to_its_page(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + f"/-/requests/{walk['video_request']}")
    targets = pg.locator("#targets")
    text = targets.inner_text()
    assert walk["lecture_title"] in text and "動画" in text, text
    assert LECTURE not in text and "videos" not in text, text
    targets.get_by_role("link", name=walk["lecture_title"]).click()
    pg.wait_for_url(f"{walk['url']}/-/video/{LECTURE}")
    assert pg.inner_text("h1") == walk["lecture_title"]


def test_the_request_list_names_a_channel_by_title_linked_to_its_page(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + "/-/requests")
    row = pg.locator(f"tr:has(a[href='/-/requests/{walk['channel_request']}'])")
    cell = row.locator("td.targets")
    text = cell.inner_text()
    assert walk["channel_title"] in text and "チャンネル" in text, text
    assert SAMPLE_CHANNEL not in text and "channel" not in text, text
    # The video request's row too: a title, not "videos Ns9w…".
    video_row = pg.locator(f"tr:has(a[href='/-/requests/{walk['video_request']}'])")
    assert walk["lecture_title"] in video_row.locator("td.targets").inner_text()
    cell.get_by_role("link", name=walk["channel_title"]).click()
    pg.wait_for_url(f"{walk['url']}/-/channel/{SAMPLE_CHANNEL}")
    assert pg.inner_text("h1") == walk["channel_title"]


# --- error pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, path, status, message",
    [
        ("visitor", "/-/video/notAVideo00", 404, "その動画はインデックスにありません"),
        ("visitor", "/-/requests/987654", 404, "その依頼はありません"),
        ("visitor", "/archive/no_such_table", 404, "お探しのページはありません"),
        ("analyst", "/-/resync", 403, "再同期は職員アカウントのみ"),
    ],
    ids=["missing-video", "missing-request", "missing-datasette-table", "analyst-resync"],
)
def test_missing_pages_and_refusals_come_in_the_consoles_japanese_page(
    contexts, walk, who, path, status, message
):
    pg = contexts[who].new_page()
    pg.set_default_timeout(10_000)
    try:
        response = pg.goto(walk["url"] + path)
        assert response.status == status
        assert pg.get_attribute("html", "lang") == "ja"
        heading = pg.inner_text("main h1")
        assert CJK.search(heading) and CJK.search(pg.title()), (heading, pg.title())
        assert message in pg.inner_text("main")
        # The console's menu, with its way back to the pages that exist.
        menu = pg.get_by_role("navigation", name="メニュー")
        assert menu.is_visible()
        for name in ("概要", "検索", "チャンネル"):
            assert menu.get_by_role("link", name=name, exact=True).is_visible(), name
        body = pg.inner_text("body")
        for english in ("Error 404", "Error 403", "Forbidden", "Not Found", "Not found"):
            assert english not in body and english not in pg.title(), english
    finally:
        pg.close()


# --- search --------------------------------------------------------------------------------


def _table(pg, selector: str = "table.rows-and-columns") -> list[dict]:
    """A Datasette results table as dicts, keyed by the columns' names."""
    return pg.evaluate(
        """s => {
          const t = document.querySelector(s);
          const names = [...t.querySelectorAll('thead th')].map(
            th => th.getAttribute('data-column') || th.textContent.trim());
          return [...t.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
            [...tr.querySelectorAll('td')].map((td, i) => [names[i], td.textContent.trim()])));
        }""",
        selector,
    )


def test_a_transcript_search_links_to_a_japanese_query_with_the_same_hits(analyst, walk, shots):
    pg = analyst
    pg.goto(walk["url"] + "/-/search?q=研修だけ&in=transcripts")
    videos = pg.eval_on_selector_all("li.result", "ls => ls.map(l => l.dataset.video)")
    hits = pg.eval_on_selector_all("li.hit a.time", "as => as.map(a => a.href)")
    assert videos == [LECTURE] and hits, (videos, hits)
    pg.get_by_role("link", name="Datasette の検索クエリ").click()
    pg.wait_for_url(re.compile(r"/archive/search_results\?"))
    title = pg.title()
    assert title.startswith("コンソールの検索結果"), title
    assert not re.search(r"select|from|where", title, re.I), title
    assert CJK.search(pg.inner_text("h1"))
    rows = _table(pg)
    assert rows, "the query found nothing"
    assert [r["video_id"] for r in rows if r["kind"] == "video"] == videos
    assert [r["url"] for r in rows if r["kind"] != "video"] == hits
    shot(pg, shots, "walk-datasette-search-results")


def test_no_hits_is_a_sentence_without_a_numbered_item_or_downloads(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + "/-/search?q=存在しない語句ぴよぴよ")
    answer = pg.locator("main p.no-hits")
    assert answer.is_visible()
    assert "該当する動画はありません" in answer.inner_text()
    main = pg.locator("main")
    assert main.locator("ol").count() == 0
    assert main.locator("li", has_text="該当する動画はありません").count() == 0
    assert main.locator("a[href*='format=']").count() == 0
    for name in ("CSV", "Excel", "Datasette の検索クエリ"):
        assert main.get_by_role("link", name=re.compile(name)).count() == 0, name


def test_the_year_filter_offers_exactly_the_years_the_index_holds(analyst, walk):
    published = _db_rows(
        walk["db"], "SELECT published_at FROM videos WHERE published_at IS NOT NULL"
    )
    years = sorted({_jst(p).year for (p,) in published}, reverse=True)
    assert 2020 in years and 2019 not in years  # New Year's Eve in UTC is 2020 in Japan
    pg = analyst
    pg.goto(walk["url"] + "/-/search")
    options = pg.locator("select[name=year] option")
    values = options.evaluate_all("os => os.map(o => o.value)")
    assert values[0] == "" and [int(v) for v in values[1:]] == years
    assert options.nth(1).inner_text() == f"{years[0]} 年"
    # Choosing a year narrows the search to it.
    pg.fill("input[name=q]", "窓口")
    pg.select_option("select[name=year]", "2020")
    pg.press("input[name=q]", "Enter")
    pg.wait_for_url(re.compile(r"year=2020"))
    assert pg.eval_on_selector_all("li.result", "ls => ls.map(l => l.dataset.video)") == [
        SECOND_VIDEOS[0][0]
    ]


# --- charts --------------------------------------------------------------------------------


def _y_ticks(pg, figure: str) -> list[str]:
    return pg.eval_on_selector_all(
        f"#{figure} svg text.tick[text-anchor=end][x='{charts.LEFT - 6}']",
        "ts => ts.map(t => t.textContent)",
    )


def test_count_axes_tick_whole_numbers_and_hours_read_h_mm(analyst, walk):
    pg = analyst
    for channel in (SAMPLE_CHANNEL, SECOND_CHANNEL):
        pg.goto(walk["url"] + f"/-/channel/{channel}")
        counts = _y_ticks(pg, "uploads-chart")
        assert len(counts) >= 2 and all(t.isdigit() for t in counts), (channel, counts)
        hours = _y_ticks(pg, "hours-chart")
        assert len(hours) >= 2, (channel, hours)
        assert all(re.fullmatch(r"\d+:[0-5]\d", t) for t in hours), (channel, hours)
    # One video a month at most: the axis counts 0 and 1 (halves were drawn before).
    assert counts == ["0", "1"]


LAST_LABEL = """(svg, selector) => {
  const labels = [...svg.querySelectorAll(selector)];
  const last = labels.reduce((a, b) => (+b.getAttribute('x') > +a.getAttribute('x') ? b : a));
  const box = svg.getBoundingClientRect(), r = last.getBoundingClientRect(), b = last.getBBox();
  return {text: last.textContent, left: r.left, right: r.right, svgLeft: box.left,
          svgRight: box.right, x: +last.getAttribute('x'), width: b.width};
}"""


def test_the_last_x_axis_label_lies_inside_the_charts_box(analyst, walk):
    pg = analyst
    checked, would_clip = [], []
    for path in (f"/-/channel/{SAMPLE_CHANNEL}", f"/-/video/{ROUNDTABLE}"):
        pg.goto(walk["url"] + path)
        for figure in pg.eval_on_selector_all("figure.chart-box", "fs => fs.map(f => f.id)"):
            svg = pg.locator(f"#{figure} svg.chart")
            if svg.locator(X_LABEL).count() == 0:
                continue
            last = svg.evaluate(LAST_LABEL, X_LABEL)
            where = (path, figure, last)
            assert last["right"] <= last["svgRight"] + 0.5, where
            assert last["left"] >= last["svgLeft"] - 0.5, where
            checked.append(figure)
            # Centred on its point, this label would have run past the edge.
            if last["x"] + last["width"] / 2 > charts.WIDTH:
                would_clip.append(figure)
    assert {"uploads-chart", "views-chart", "retention-chart"} <= set(checked), checked
    assert would_clip, "no chart puts a label where centring it would clip it"


def test_the_chapter_note_only_where_there_are_chapters(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + f"/-/video/{ROUNDTABLE}")
    retention = pg.locator("#retention-chart")
    assert "縦線はチャプターの始まり" in retention.locator("figcaption").inner_text()
    assert retention.locator("svg line.chapter").count() == pg.locator("ol.chapters li").count()
    pg.goto(walk["url"] + f"/-/video/{NO_CHAPTERS}")
    assert pg.locator("ol.chapters li").count() == 0
    retention = pg.locator("#retention-chart")
    assert retention.locator("svg polyline.line").count() == 1  # a retention chart is drawn
    assert retention.locator("svg line.chapter").count() == 0
    assert "縦線" not in pg.inner_text("main")
    assert "チャプターがありません" in retention.locator("figcaption").inner_text()


def test_a_single_observation_is_a_bar_carrying_its_figure(analyst, walk, shots):
    """Drawn as a mark one can see (not a dot on empty axes): a bar of a bar's width rising
    from the axis, its figure written above it, inside the chart."""
    pg = analyst
    pg.goto(walk["url"] + f"/-/video/{SECOND_VIDEOS[0][0]}")
    svg = pg.locator("#views-chart svg.chart")
    assert svg.locator("circle, polyline").count() == 0
    bar, figure = svg.locator("rect.bar"), svg.locator("text.figure")
    assert bar.count() == 1 and figure.count() == 1
    chart, mark, label = svg.bounding_box(), bar.bounding_box(), figure.bounding_box()
    assert chart["height"] / 3 < mark["height"] and 20 < mark["width"] < chart["width"] / 4
    assert figure.text_content() == f"{ONE_OBSERVATION:,}" and figure.is_visible()
    assert label["y"] + label["height"] <= mark["y"] + 1 and label["y"] >= chart["y"]
    assert "1 件のみ" in pg.inner_text("#views-chart figcaption")
    pg.locator("#views-chart").scroll_into_view_if_needed()
    shot(pg, shots, "walk-single-observation")


# --- downloads -----------------------------------------------------------------------------


def _download(pg, link_name: str):
    """Click the link and return the saved file's path and suggested name."""
    with pg.expect_download() as info:
        pg.get_by_role("link", name=link_name, exact=True).click()
    download = info.value
    return download.path(), download.suggested_filename


def _published(db, video_ids) -> dict[str, datetime]:
    marks = ",".join("?" * len(video_ids))
    rows = _db_rows(db, f"SELECT id, published_at FROM videos WHERE id IN ({marks})", video_ids)
    return {video_id: _jst(at) for video_id, at in rows}


def test_the_consoles_csv_has_japanese_headers_and_jst_times(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + "/-/search?q=オープンデータ")
    assert "時刻はすべて日本時間 (JST)" in pg.inner_text("footer")
    shown = pg.eval_on_selector_all("li.result", "ls => ls.map(l => l.dataset.video)")
    path, name = _download(pg, "CSV (Excel 用)")
    assert name.endswith(".csv")
    body = path.read_bytes()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == SEARCH_LABELS
    videos = [r for r in rows[1:] if r[COLUMN["where"]] == "動画"]
    assert [r[COLUMN["video_id"]] for r in videos] == shown
    published = _published(walk["db"], shown)
    for r in rows[1:]:
        expected = published[r[COLUMN["video_id"]]].strftime("%Y-%m-%d %H:%M")
        assert r[COLUMN["published_at"]] == expected, r


def test_datasettes_raw_csv_keeps_column_names_and_utc(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + f"/archive/videos?id={LECTURE}")
    # Datasette's own CSV link (not its csvbom, the one for Excel): shown as text.
    pg.get_by_role("link", name="CSV", exact=True).click()
    pg.wait_for_url(re.compile(r"/archive/videos\.csv\?"))
    rows = list(csv.reader(io.StringIO(pg.inner_text("body"))))
    names = rows[0]
    assert names[:3] == ["id", "channel_id", "title"] and "published_at" in names
    [(published,)] = _db_rows(walk["db"], "SELECT published_at FROM videos WHERE id = ?", [LECTURE])
    assert rows[1][names.index("published_at")] == published and published.endswith("Z")


def _workbook(path):
    return load_workbook(io.BytesIO(path.read_bytes())).active


def _wide(text: str) -> int:
    """At least how many columns a text needs: a kana or kanji takes two."""
    return 2 * len(CJK.findall(text))


def _widths(ws) -> list[float]:
    """The width set for each column of the header row (0 where none was set)."""
    dims = [ws.column_dimensions[c.column_letter] for c in ws[1]]
    return [d.width if d.customWidth else 0 for d in dims]


def test_the_consoles_excel_downloads_have_japanese_headers_jst_and_widths(analyst, walk):
    pg = analyst
    pg.goto(walk["url"] + "/-/search?q=オープンデータ")
    shown = pg.eval_on_selector_all("li.result", "ls => ls.map(l => l.dataset.video)")
    path, name = _download(pg, "Excel (.xlsx)")
    assert name.endswith(".xlsx")
    ws = _workbook(path)
    assert [c.value for c in ws[1]] == SEARCH_LABELS
    published = _published(walk["db"], shown)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    video_id, title = COLUMN["video_id"], COLUMN["title"]
    assert [r[video_id] for r in rows if r[COLUMN["where"]] == "動画"] == shown
    for r in rows:
        # A date-time cell, in Tokyo time.
        assert r[COLUMN["published_at"]] == published[r[video_id]], r
    # Columns as wide as their text: a Japanese title (two columns a character) is wide.
    widths = _widths(ws)
    assert widths[title] >= min(max(_wide(r[title]) for r in rows), 60), widths
    assert widths[video_id] < widths[title] and all(widths), widths
    # The channel's figures by month, as analysts chart them.
    pg.goto(walk["url"] + f"/-/channel/{SECOND_CHANNEL}")
    path, name = _download(pg, "月別 Excel (.xlsx)")
    ws = _workbook(path)
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["年", "月", "公開本数"] and all(CJK.search(h) for h in headers)
    months = [(r[0], r[1], r[2]) for r in ws.iter_rows(min_row=2, values_only=True)]
    # In Tokyo time: the video of 2019-12-31 15:30 UTC counts for January 2020.
    assert months == [(2020, 1, 1), (2020, 3, 1)], months
    widths = _widths(ws)
    assert all(w >= max(_wide(h), 1) for w, h in zip(widths, headers, strict=True)), widths


def test_datasettes_excel_download_of_a_view_has_japanese_headers_jst_and_widths(analyst, walk):
    """video_overview, the view analysts open most, from Datasette's own export link."""
    pg = analyst
    pg.goto(walk["url"] + f"/archive/video_overview?id={LECTURE}")
    path, name = _download(pg, "xlsx")
    assert name.endswith(".xlsx")
    ws = _workbook(path)
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["ID", "タイトル", "公開日時"], headers
    row = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
    assert row[:3] == (LECTURE, walk["lecture_title"], _published(walk["db"], [LECTURE])[LECTURE])
    widths = _widths(ws)
    assert all(widths) and widths[1] >= min(_wide(walk["lecture_title"]), 60), widths
