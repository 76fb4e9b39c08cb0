"""Analysts' pages: the Japanese search, a video, a channel (with their charts and CSV)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from datasette.utils.asgi import NotFound, Response

from archivesync.db.views import VIEW_COUNTING_CHANGED_ON
from archivesync.errors import EmptyQuery
from archivesync.search.hybrid import MODES
from archivesync.search.results import WHERE, result_rows, search_results
from archivesync.web import charts, data
from archivesync.web.access import can_read, database_name, login_redirect
from archivesync.web.respond import read, render
from archivesync.web.tables import Column, export_format, table_response
from archivesync.web.text import clock

# YouTube's 2026-08-27 change of view counting: a step in the series, not audience change.
VIEW_COUNTING_MARKERS = (
    (
        date.fromisoformat(VIEW_COUNTING_CHANGED_ON),
        f"{VIEW_COUNTING_CHANGED_ON}: YouTube が公開再生回数の数え方を統一しました。"
        "この日の前後の段差は視聴の増減ではありません。",
    ),
)
SEARCH_COLUMNS = [
    Column("video_id", "動画 ID"),
    Column("title", "タイトル"),
    Column("published_at", "公開日時"),
    Column("where", "一致した場所"),
    Column("start", "開始位置"),
    Column("start_seconds", "開始 (秒)"),
    Column("text", "一致したテキスト"),
    Column("url", "URL"),
]
CHAPTER_COLUMNS = [
    Column("position", "番号"),
    Column("start", "開始位置"),
    Column("start_seconds", "開始 (秒)"),
    Column("end_seconds", "終了 (秒)"),
    Column("title", "チャプター"),
    Column("url", "URL"),
]
MONTHLY_COLUMNS = [
    Column("year", "年"),
    Column("month", "月"),
    Column("videos", "公開本数"),
    Column("hours", "公開時間 (時間)"),
]
HIT_PLACES = {"video": "動画", "chapter": "チャプター", "transcript": "字幕"}


def _datasette_query(datasette, db_name: str, q: str, **chosen) -> str:
    """The Datasette canned query `search_results`: the rows of this page's CSV, for the same
    words, places, mode and filters (search/results.py gives both)."""
    query = datasette.urls.query(db_name, "search_results")
    args = {"q": q, "scope": " ".join(chosen["where"]), "mode": chosen["mode"] or "",
            "exact": "1" if chosen["exact"] else "", "channel": chosen["channel_id"] or "",
            "playlist": chosen["playlist_id"] or "", "year": chosen["year"] or ""}  # fmt: skip
    return f"{query}?" + urlencode(args)


def _search_rows(results: list[dict]) -> list[dict]:
    """The flat rows of the results, with Japanese places and h:mm:ss times."""
    return [
        {
            **row,
            "where": HIT_PLACES[row["kind"]],
            "start": clock(row["start_seconds"]) if row["start_seconds"] is not None else "",
        }
        for row in result_rows(results)
    ]


async def search_view(request, datasette):
    """The Japanese search, grouped by video, each hit linked at its second."""
    if not can_read(datasette, request):
        return login_redirect(datasette, request)
    q = (request.args.get("q") or "").strip()
    where = tuple(w for w in request.args.getlist("in") if w in WHERE) or WHERE
    channel_id = request.args.get("channel") or None
    playlist_id = request.args.get("playlist") or None
    year_arg = request.args.get("year") or ""
    year = int(year_arg) if year_arg.isdigit() else None
    exact = bool(request.args.get("exact"))
    mode = request.args.get("mode") if request.args.get("mode") in MODES else None
    results, error = [], None
    if q:
        try:
            results = await read(
                datasette,
                search_results,
                q,
                channel_id=channel_id,
                playlist_id=playlist_id,
                year=year,
                where=where,
                exact=exact,
                mode=mode,
            )
        except EmptyQuery:
            error = "検索語を入力してください。"
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, "search", SEARCH_COLUMNS, _search_rows(results))
    playlists = await read(datasette, data.playlists)
    years = await read(datasette, data.publication_years)
    return await render(
        datasette,
        request,
        "search.html",
        {
            "q": q,
            "results": results,
            "error": error,
            "where": where,
            "exact": exact,
            "mode": mode,
            "channel_id": channel_id,
            "playlist_id": playlist_id,
            "year": year,
            "years": years,
            "datasette_query": _datasette_query(
                datasette,
                database_name(datasette),
                q,
                where=where,
                mode=mode,
                exact=exact,
                channel_id=channel_id,
                playlist_id=playlist_id,
                year=year,
            ),
            "playlists": playlists,
            "query_string": request.query_string,
        },
    )


async def video(request, datasette):
    """A video: facts, chapters, transcript, views over time, retention with chapter lines."""
    if not can_read(datasette, request):
        return login_redirect(datasette, request)
    page = await read(datasette, data.video_page, request.url_vars["id"])
    if page is None:
        raise NotFound("その動画はインデックスにありません")
    fmt = export_format(request)
    if fmt:
        for c in page["chapters"]:
            c["start"] = clock(c["start_seconds"])
        return table_response(
            fmt, f"{page['video']['id']}-chapters", CHAPTER_COLUMNS, page["chapters"]
        )
    v = page["video"]
    views = [(d.isoformat(), n) for d, n in page["views_series"]]
    page["views_chart"] = _chart(
        charts.line_chart(
            "再生回数の推移 (同期時の累計)", page["views_series"], markers=VIEW_COUNTING_MARKERS
        ),
        "累計再生回数",
        "観測日",
        views,
        by_month="last",
    )
    if page["daily_series"]:
        daily = [(d.isoformat(), n) for d, n in page["daily_series"]]
        page["daily_chart"] = _chart(
            charts.bar_chart("日別の再生回数", [d for d, _ in daily], [n for _, n in daily]),
            "日別の再生回数",
            "日付",
            daily,
            by_month="sum",
        )
    if page["retention"]:
        duration = v["duration_seconds"] or 0
        points = [(r["elapsed_ratio"], r["audience_watch_ratio"]) for r in page["retention"]]
        starts = [(c["start_seconds"], c["title"]) for c in page["chapters"]]
        title = "視聴維持率" + (" (縦線はチャプターの始まり)" if starts else "")
        page["retention_chart"] = _chart(
            charts.retention_chart(title, points, duration, starts),
            "視聴維持率",
            "再生位置",
            [(charts.clock_label(ratio * duration), watch) for ratio, watch in points],
            charts.percent_label,
        )
    # A search hit opens the page at its cue: the first cue of each second carries an anchor.
    seen = set()
    for cue in page["transcript"]:
        second = int(cue["start_seconds"])
        cue["anchor"] = None if second in seen else f"t={second}"
        seen.add(second)
    return await render(datasette, request, "video.html", page)


async def channel(request, datasette):
    """A channel: uploads and hours per month, views per month, most watched, removed."""
    if not can_read(datasette, request):
        return login_redirect(datasette, request)
    channel_id = request.url_vars.get("id") or request.args.get("channel")
    if not channel_id:
        found = await read(datasette, data.channels)
        if not found:
            raise NotFound("同期済みのチャンネルがありません")
        return Response.redirect(datasette.urls.path(f"/-/channel/{found[0]['id']}"))
    page = await read(datasette, data.channel_page, channel_id)
    if page is None:
        raise NotFound("そのチャンネルはインデックスにありません")
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, f"{channel_id}-monthly", MONTHLY_COLUMNS, page["monthly"])
    months = _every_month(page["monthly"])
    labels = [f"{year}-{month:02d}" for year, month, _ in months]
    uploads = [m["videos"] if m else 0 for _, _, m in months]
    hours = [m["hours"] if m else 0 for _, _, m in months]
    page["uploads_chart"] = _chart(
        charts.bar_chart("月別の公開本数", labels, uploads),
        "公開本数",
        "月",
        list(zip(labels, uploads, strict=True)),
    )
    page["hours_chart"] = _chart(
        charts.bar_chart(
            "月別の公開時間 (時間:分)",
            labels,
            hours,
            y_format=charts.hours_label,
            integer=False,
        ),
        "公開時間 (時間:分)",
        "月",
        list(zip(labels, hours, strict=True)),
        charts.hours_label,
    )
    if page["views_monthly"]:
        months_views = [(m["month"], m["views"]) for m in page["views_monthly"]]
        page["views_chart"] = _chart(
            charts.bar_chart(
                "月別の再生回数", [m for m, _ in months_views], [n for _, n in months_views]
            ),
            "再生回数",
            "月",
            months_views,
        )
    return await render(datasette, request, "channel.html", page)


def _chart(
    svg, what: str, key: str, rows: list, fmt=charts.count_label, by_month: str | None = None
) -> dict:
    """A chart and its text alternative (a sentence and the figures as a table; a long daily
    series tabled by month, see charts.Figures)."""
    return {"svg": svg, "figures": charts.Figures(what, key, fmt, rows, by_month)}


def _every_month(monthly: list[dict], most: int = 120) -> list[tuple[int, int, dict | None]]:
    """(year, month, row or None) for every month from the first row to the last: a month
    with no upload is a zero bar, not a missing one. The last `most` months at most."""
    if not monthly:
        return []
    rows = {(m["year"], m["month"]): m for m in monthly}
    year, month = monthly[0]["year"], monthly[0]["month"]
    last = (monthly[-1]["year"], monthly[-1]["month"])
    out = []
    while (year, month) <= last:
        out.append((year, month, rows.get((year, month))))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out[-most:]
