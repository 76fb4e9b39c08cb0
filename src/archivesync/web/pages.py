"""The console's request handlers: read the request, call data.py or the resync queue, render.

Each handler is `async def page(request, datasette)`. Reading runs on Datasette's read-only
connections (`execute_fn`); queueing a resync opens the index for writing just for the insert,
in a worker thread, through the same `sync.requests` functions as `archivesync resync`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import date
from urllib.parse import quote, urlencode

from datasette.utils.asgi import Forbidden, NotFound, Response
from sqlite_utils import Database

from archivesync.db.schema import open_db
from archivesync.parsing import video_ids_from_text
from archivesync.replication import status as replication_status
from archivesync.search.text import EmptyQuery
from archivesync.sync import requests as queue
from archivesync.sync.run import Target
from archivesync.web import charts, data
from archivesync.web import users as users_mod
from archivesync.web.text import MODE_LABELS, jst, status_label
from archivesync.worker import status as status_mod
from archivesync.worker.heartbeat import daemon_alive, read_heartbeat

CONFIG = "archivesync-console"
COOKIE = "ds_actor"
CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
PLAYLIST_ID = re.compile(r"^[A-Za-z0-9_-]{10,64}$")
SESSION_SECONDS = 12 * 3600


# --- configuration and who is asking -------------------------------------------------------


def config(datasette) -> dict:
    """The console's settings, as `make_datasette` put them in the plugin configuration."""
    return datasette.plugin_config(CONFIG) or {}


def database_name(datasette) -> str:
    """The name Datasette serves the index under (the file's stem)."""
    return next(iter(datasette.databases.keys() - {"_internal"}))


def current_user(datasette, request) -> dict | None:
    """The logged-in user {"id", "role"}, checked against the users file on every request.

    A removed user's cookie stops working at once; a changed role takes effect at once.
    """
    users_file = config(datasette).get("users_file")
    actor = request.actor
    if not users_file or not actor or not isinstance(actor.get("id"), str):
        return None
    try:
        user = users_mod.load(users_file).get(actor["id"])
    except users_mod.UsersFileError:
        return None
    return {"id": actor["id"], "role": user["role"]} if user else None


def can_read(datasette, request) -> bool:
    """Whether reading pages are open to this request (`--read-login` closes them)."""
    return not config(datasette).get("read_login") or current_user(datasette, request) is not None


def is_staff(datasette, request) -> bool:
    """Whether this request may queue resyncs: a logged-in staff user."""
    user = current_user(datasette, request)
    return user is not None and user["role"] == "staff"


def _login_redirect(request) -> Response:
    return Response.redirect("/-/login?" + urlencode({"next": request.full_path}))


async def _render(datasette, request, template: str, context: dict, status: int = 200):
    db_name = database_name(datasette)
    base = {
        "user": current_user(datasette, request),
        "writable": bool(config(datasette).get("users_file")),
        "db_name": db_name,
        "all_channels": await _read(datasette, data.channels),
        "path": request.path,
    }
    html = await datasette.render_template(
        f"console/{template}", {**base, **context}, request=request
    )
    return Response.html(html, status=status)


async def _read(datasette, fn, *args, **kwargs):
    """Run `fn(db, ...)` on a read-only connection of the index."""
    return await datasette.get_database(database_name(datasette)).execute_fn(
        lambda conn: fn(Database(conn), *args, **kwargs)
    )


def _csv_response(filename: str, columns: list[str], rows: list[list]) -> Response:
    # A BOM first: Excel reads UTF-8 CSV as Shift_JIS without one (mojibake).
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def _wants_csv(request) -> bool:
    return request.args.get("format") == "csv"


# --- login ---------------------------------------------------------------------------------


async def login(request, datasette):
    """GET: the login form. POST: check the password, set the signed session cookie."""
    next_path = request.args.get("next") or "/"
    if not next_path.startswith("/") or next_path.startswith("//"):
        next_path = "/"  # never redirect off this server
    if not config(datasette).get("users_file"):
        return await _render(
            datasette, request, "login.html", {"disabled": True, "next": next_path}, 404
        )
    error = None
    if request.method == "POST":
        form = await request.post_vars()
        next_path = form.get("next") or next_path
        if not next_path.startswith("/") or next_path.startswith("//"):
            next_path = "/"
        try:
            users = users_mod.load(config(datasette)["users_file"])
        except users_mod.UsersFileError:
            users = {}
        actor = await asyncio.to_thread(
            users_mod.authenticate, users, form.get("username", ""), form.get("password", "")
        )
        if actor:
            response = Response.redirect(next_path)
            response.set_cookie(
                COOKIE,
                datasette.sign({"a": {"id": actor["id"]}, "e": _expiry()}, "actor"),
                httponly=True,
                samesite="lax",
            )
            return response
        error = "ユーザー名またはパスワードが違います。"
    return await _render(
        datasette,
        request,
        "login.html",
        {"error": error, "next": next_path, "username": ""},
        401 if error else 200,
    )


def _expiry() -> str:
    # Datasette's ds_actor cookie carries its own expiry ("e", base62 seconds since epoch).
    import time

    from datasette.utils import baseconv

    return baseconv.base62.encode(int(time.time()) + SESSION_SECONDS)


async def logout(request, datasette):
    """POST: end the session (the form carries the CSRF token)."""
    if request.method != "POST":
        return Response.redirect("/")
    response = Response.redirect("/")
    response.set_cookie(COOKIE, "", expires=0, max_age=0)
    return response


# --- staff pages ---------------------------------------------------------------------------


async def overview(request, datasette):
    """Staff overview: daemon, quota, last runs per channel and kind, recent failures."""
    if not can_read(datasette, request):
        return _login_redirect(request)
    cfg = config(datasette)

    def collect(db):
        return {
            "status": status_mod.collect(
                db, db_path=cfg.get("db_path", ""), daily_budget=cfg.get("daily_budget", 10000)
            ),
            "last_runs": data.last_runs_by_kind(db),
            "failures": data.recent_failures(db),
        }

    page = await _read(datasette, collect)
    # Asks Litestream (a subprocess or two) only when this database is replicated or followed.
    page["replication"] = await asyncio.to_thread(
        replication_status.collect, cfg.get("db_path", "")
    )
    return await _render(datasette, request, "overview.html", page)


def _target_from_form(form: dict) -> Target:
    """The resync target the form asks for; ValueError with a Japanese message if unclear."""
    kind = form.get("kind")
    if kind == "channel":
        channel_id = (form.get("channel_id") or "").strip()
        if not CHANNEL_ID.match(channel_id):
            raise ValueError("チャンネル ID (UC で始まる 24 文字) を選ぶか入力してください。")
        return Target("channel", [channel_id], full=form.get("mode") == "full")
    if kind == "playlist":
        playlist_id = (form.get("playlist_id") or "").strip()
        if not PLAYLIST_ID.match(playlist_id):
            raise ValueError("再生リストを選ぶか、再生リスト ID を入力してください。")
        return Target("playlist", [playlist_id])
    if kind == "videos":
        try:
            ids = video_ids_from_text(form.get("videos") or "")
        except ValueError as e:
            bad = str(e).split(": ", 1)[-1]
            raise ValueError(f"動画 ID でも YouTube の URL でもありません: {bad}") from None
        if not ids:
            raise ValueError("動画 ID か YouTube の URL を入力してください。")
        return Target("videos", ids)
    raise ValueError("再同期する対象 (チャンネル、再生リスト、動画) を選んでください。")


def _enqueue(db_path: str, target: Target, requested_by: str) -> int:
    db = open_db(db_path, migrate=False)
    try:
        return queue.enqueue(db, target, requested_by)
    finally:
        db.close()


async def resync(request, datasette):
    """GET: the resync form. POST: queue the request, then show it (staff only)."""
    if not config(datasette).get("users_file"):
        raise NotFound("書き込み操作は無効です (--users が指定されていません)")
    user = current_user(datasette, request)
    if user is None:
        if request.method == "POST":
            raise Forbidden("ログインが必要です")
        return _login_redirect(request)
    if user["role"] != "staff":
        raise Forbidden("再同期は職員アカウントのみ実行できます")
    error, form = None, {"kind": "videos", "mode": "incremental"}
    if request.method == "POST":
        form = dict(await request.post_vars())
        try:
            target = _target_from_form(form)
        except ValueError as e:
            error = str(e)
        else:
            request_id = await asyncio.to_thread(
                _enqueue, config(datasette)["db_path"], target, user["id"]
            )
            return Response.redirect(f"/-/requests/{request_id}")
    playlists = await _read(datasette, data.playlists)
    return await _render(
        datasette,
        request,
        "resync.html",
        {"error": error, "form": form, "playlists": playlists, "modes": MODE_LABELS},
        400 if error else 200,
    )


def _request_state(db: Database, request_id: int) -> dict | None:
    row = queue.get(db, request_id)
    if row is None:
        return None
    finished = row["status"] in queue.FINISHED
    state = {
        "id": row["id"],
        "status": row["status"],
        "status_label": status_label(row["status"]),
        "finished": finished,
        "position": queue.queue_position(db, request_id),
        "daemon_alive": daemon_alive(read_heartbeat(db)),
        "run_id": row["run_id"],
        "figures": queue.run_figures(db, row["run_id"]),
        "error": row["error"],
        "requested_by": row["requested_by"],
        "requested_at": jst(row["requested_at"]),
        "finished_at": jst(row["finished_at"]) if row["finished_at"] else None,
        "what": queue.describe(row["target_kind"], row["target_id"], row["mode"]),
        "target_kind": row["target_kind"],
        "target_id": row["target_id"],
        "mode": row["mode"],
    }
    if finished:
        state["outcome"] = queue.outcome_of(db, row).status
        state["outcome_label"] = status_label(state["outcome"])
    else:
        state["outcome"] = state["outcome_label"] = None
    return state


async def request_detail(request, datasette):
    """One request: its place in the queue, then its outcome; the page polls the JSON form."""
    if not can_read(datasette, request):
        return _login_redirect(request)
    request_id = int(request.url_vars["id"])
    state = await _read(datasette, _request_state, request_id)
    if state is None:
        raise NotFound("その依頼はありません")
    if request.url_vars.get("format") == "json":
        return Response.json(state)
    return await _render(datasette, request, "request.html", {"state": state})


async def request_list(request, datasette):
    """Request history: who asked for what, and what came of it."""
    if not can_read(datasette, request):
        return _login_redirect(request)
    rows = await _read(datasette, data.request_history)
    if _wants_csv(request):
        columns = ["id", "requested_at", "requested_by", "target_kind", "target_id", "mode",
                   "status", "run_id", "error", "finished_at"]  # fmt: skip
        return _csv_response("requests.csv", columns, [[r[c] for c in columns] for r in rows])
    return await _render(datasette, request, "requests.html", {"rows": rows})


# --- analysts' pages -----------------------------------------------------------------------


async def search_view(request, datasette):
    """The Japanese search, grouped by video, each hit linked at its second."""
    if not can_read(datasette, request):
        return _login_redirect(request)
    q = (request.args.get("q") or "").strip()
    where = tuple(w for w in request.args.getlist("in") if w in data.WHERE) or data.WHERE
    channel_id = request.args.get("channel") or None
    playlist_id = request.args.get("playlist") or None
    year_arg = request.args.get("year") or ""
    year = int(year_arg) if year_arg.isdigit() else None
    exact = bool(request.args.get("exact"))
    results, error = [], None
    if q:
        try:
            results = await _read(
                datasette,
                data.search_page,
                q,
                channel_id=channel_id,
                playlist_id=playlist_id,
                year=year,
                where=where,
                exact=exact,
            )
        except EmptyQuery:
            error = "検索語を入力してください。"
    if _wants_csv(request):
        rows = []
        for r in results:
            rows.append([r["video_id"], r["title"], r["published_at"], "", "", "", r["url"]])
            rows += [
                [
                    r["video_id"],
                    r["title"],
                    r["published_at"],
                    h["match_kind"],
                    h["start_seconds"],
                    h["text"],
                    h["deep_link"],
                ]
                for h in r["hits"]
            ]
        columns = ["video_id", "title", "published_at", "match_kind", "start_seconds",
                   "text", "url"]  # fmt: skip
        return _csv_response("search.csv", columns, rows)
    playlists = await _read(datasette, data.playlists)
    this_year = date.today().year
    return await _render(
        datasette,
        request,
        "search.html",
        {
            "q": q,
            "results": results,
            "error": error,
            "where": where,
            "exact": exact,
            "channel_id": channel_id,
            "playlist_id": playlist_id,
            "year": year,
            "years": list(range(this_year, 2005, -1)),
            "playlists": playlists,
            "query_string": request.query_string,
        },
    )


async def video(request, datasette):
    """A video: facts, chapters, transcript, views over time, retention with chapter lines."""
    if not can_read(datasette, request):
        return _login_redirect(request)
    page = await _read(datasette, data.video_page, request.url_vars["id"])
    if page is None:
        raise NotFound("その動画はインデックスにありません")
    if _wants_csv(request):
        columns = ["position", "start_seconds", "end_seconds", "title", "url"]
        return _csv_response(
            f"{page['video']['id']}-chapters.csv",
            columns,
            [[c[k] for k in columns] for c in page["chapters"]],
        )
    v = page["video"]
    page["views_chart"] = charts.line_chart(
        "再生回数の推移 (同期時の累計)", page["views_series"], second=()
    )
    if page["daily_series"]:
        page["daily_chart"] = charts.bar_chart(
            "日別の再生回数",
            [d.isoformat() for d, _ in page["daily_series"]],
            [n for _, n in page["daily_series"]],
        )
    if page["retention"]:
        page["retention_chart"] = charts.retention_chart(
            "視聴維持率 (縦線はチャプターの始まり)",
            [(r["elapsed_ratio"], r["audience_watch_ratio"]) for r in page["retention"]],
            v["duration_seconds"] or 0,
            [(c["start_seconds"], c["title"]) for c in page["chapters"]],
        )
    return await _render(datasette, request, "video.html", page)


async def channel(request, datasette):
    """A channel: uploads and hours per month, views per month, most watched, removed."""
    if not can_read(datasette, request):
        return _login_redirect(request)
    channel_id = request.url_vars.get("id") or request.args.get("channel")
    if not channel_id:
        found = await _read(datasette, data.channels)
        if not found:
            raise NotFound("同期済みのチャンネルがありません")
        return Response.redirect(f"/-/channel/{found[0]['id']}")
    page = await _read(datasette, data.channel_page, channel_id)
    if page is None:
        raise NotFound("そのチャンネルはインデックスにありません")
    if _wants_csv(request):
        columns = ["year", "month", "videos", "hours"]
        return _csv_response(
            f"{channel_id}-monthly.csv", columns, [[m[c] for c in columns] for m in page["monthly"]]
        )
    months = _every_month(page["monthly"])
    labels = [f"{year}-{month:02d}" for year, month, _ in months]
    page["uploads_chart"] = charts.bar_chart(
        "月別の公開本数", labels, [m["videos"] if m else 0 for _, _, m in months]
    )
    page["hours_chart"] = charts.bar_chart(
        "月別の公開時間 (時間)", labels, [m["hours"] if m else 0 for _, _, m in months]
    )
    if page["views_monthly"]:
        page["views_chart"] = charts.bar_chart(
            "月別の再生回数",
            [m["month"] for m in page["views_monthly"]],
            [m["views"] for m in page["views_monthly"]],
        )
    return await _render(datasette, request, "channel.html", page)


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


async def static_file(request, datasette):
    """The console's stylesheet and script, served by the console itself (no CDN)."""
    from importlib.resources import files

    name = request.url_vars["name"]
    if name not in ("console.css", "console.js", "datasette.css", "datasette.js"):
        raise NotFound("no such file")
    body = (files("archivesync.web") / "static" / name).read_text(encoding="utf-8")
    kind = "text/css" if name.endswith(".css") else "application/javascript"
    return Response(
        body,
        content_type=f"{kind}; charset=utf-8",
        headers={"cache-control": "max-age=300"},
    )


ROUTES = [
    (r"^/$", overview),
    (r"^/-/login$", login),
    (r"^/-/logout$", logout),
    (r"^/-/resync$", resync),
    (r"^/-/requests$", request_list),
    (r"^/-/requests/(?P<id>\d+)(?:\.(?P<format>json))?$", request_detail),
    (r"^/-/search$", search_view),
    (r"^/-/video/(?P<id>[A-Za-z0-9_-]+)$", video),
    (r"^/-/channel$", channel),
    (r"^/-/channel/(?P<id>[A-Za-z0-9_-]+)$", channel),
    (r"^/-/console/(?P<name>[a-z.]+)$", static_file),
]

__all__ = ["ROUTES", "can_read", "config", "current_user", "is_staff"]
