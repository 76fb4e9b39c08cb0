"""Staff pages: the overview, the resync form and queue, a request followed to its outcome.

Queueing a resync opens the index for writing just for the insert, in a worker thread, through
the same `sync.requests` functions as `archivesync resync`.
"""

from __future__ import annotations

import asyncio

from datasette.utils.asgi import Forbidden, NotFound, Response
from sqlite_utils import Database

from archivesync.db.heartbeat import daemon_alive, read_heartbeat
from archivesync.db.schema import open_db
from archivesync.replication import status as replication_status
from archivesync.sync import requests as queue
from archivesync.sync.run import Target
from archivesync.sync.targets import TargetError, describe, resync_target
from archivesync.web import data
from archivesync.web.access import can_read, config, current_user, login_redirect, now
from archivesync.web.login import remote_addr
from archivesync.web.respond import read, read_for, render
from archivesync.web.tables import Column, export_format, table_response
from archivesync.web.text import MODE_LABELS, jst, mode_label, status_label, target_kind_label
from archivesync.worker import status as status_mod

REQUEST_COLUMNS = [
    Column("id", "依頼番号"),
    Column("requested_at", "依頼日時"),
    Column("requested_by", "依頼者"),
    Column("target_label", "対象の種類"),
    Column("target_titles", "対象"),
    Column("target_id", "対象の ID"),
    Column("mode_label", "同期の種類"),
    Column("status_label", "状態"),
    Column("run_id", "実行番号"),
    Column("videos_added", "追加"),
    Column("videos_updated", "更新"),
    Column("videos_removed", "削除"),
    Column("quota_units", "クォータ (ユニット)"),
    Column("error", "メッセージ"),
    Column("finished_at", "終了日時"),
]
# SQLite's largest rowid: a longer number in a URL names no row (and would overflow).
MAX_ROW_ID = 2**63 - 1


async def overview(request, datasette):
    """Staff overview: daemon, quota, last runs per channel and kind, recent failures."""
    if not can_read(datasette, request):
        return login_redirect(datasette, request)
    cfg = config(datasette)

    def collect(db):
        return {
            "status": status_mod.collect(
                db, db_path=cfg.get("db_path", ""), daily_budget=cfg.get("daily_budget", 10000)
            ),
            "last_runs": data.last_runs_by_kind(db),
            "failures": data.recent_failures(db),
        }

    page = await read_for(datasette, request, collect)
    # The daemon's cached check when fresh; Litestream itself (a subprocess or two) otherwise.
    page["replication"] = await asyncio.to_thread(
        replication_status.collect_cached, cfg.get("db_path", "")
    )
    return await render(datasette, request, "overview.html", page)


# The console's words for what resync_target refuses (sync/targets.py: TARGET_PROBLEMS).
TARGET_PROBLEMS_JA = {
    "kind": "再同期する対象 (チャンネル、再生リスト、動画) を選んでください。",
    "full": "完全同期はチャンネルにだけ指定できます。",
    "channel": "チャンネル ID (UC で始まる 24 文字) を選ぶか入力してください。",
    "handle": "チャンネル ID (UC で始まる 24 文字) を選ぶか入力してください。",
    "playlist": "再生リストを選ぶか、再生リスト ID を入力してください。",
    "video": "動画 ID でも YouTube の URL でもありません: {item}",
    "no_video": "動画 ID か YouTube の URL を入力してください。",
}


def _target_from_form(form: dict) -> Target:
    """The resync target the form asks for; ValueError with a Japanese message if unclear."""
    kind = form.get("kind") or ""
    field = {"channel": "channel_id", "playlist": "playlist_id"}.get(kind, "videos")
    full = kind == "channel" and form.get("mode") == "full"
    try:
        return resync_target(kind, form.get(field) or "", full=full)
    except TargetError as e:
        raise ValueError(TARGET_PROBLEMS_JA[e.reason].format(item=repr(e.item))) from None


def _submit(db_path: str, target: Target, user: str, now, remote_addr) -> int:
    """Queue under the queue's rules (sync/requests.py): configured channels only."""
    db = open_db(db_path, migrate=False)
    try:
        request_id, _ = queue.submit(
            db,
            target,
            user,
            actor=user,
            now=now,
            channels=queue.known_channels(db),
            remote_addr=remote_addr,
        )
        return request_id
    finally:
        db.close()


def _estimates(db: Database) -> dict:
    """Quota units each choice of the form would cost, shown before anything is queued."""
    return {
        "channels": {
            c: {
                "full": queue.estimate_units(db, Target("channel", [c], full=True)),
                "incremental": queue.estimate_units(db, Target("channel", [c])),
            }
            for c in queue.known_channels(db)
        },
        "playlists": {
            r["id"]: queue.estimate_units(db, Target("playlist", [r["id"]]))
            for r in db.query("SELECT id FROM playlists WHERE removed_at IS NULL")
        },
        "max_videos": queue.MAX_VIDEO_IDS,
        "per_hour": queue.REQUESTS_PER_HOUR,
    }


async def resync(request, datasette):
    """GET: the resync form. POST: queue the request, then show it (staff only)."""
    if not config(datasette).get("users_file"):
        raise NotFound("書き込み操作は無効です (--users が指定されていません)")
    user = current_user(datasette, request)
    if user is None:
        if request.method == "POST":
            raise Forbidden("ログインが必要です")
        return login_redirect(datasette, request)
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
            try:
                request_id = await asyncio.to_thread(
                    _submit,
                    config(datasette)["db_path"],
                    target,
                    user["id"],
                    now(datasette),
                    remote_addr(request),
                )
            except queue.RequestRefused as e:
                error = e.message_ja
            else:
                return Response.redirect(datasette.urls.path(f"/-/requests/{request_id}"))
    playlists = await read(datasette, data.playlists)
    estimates = await read(datasette, _estimates)
    return await render(
        datasette,
        request,
        "resync.html",
        {
            "error": error,
            "form": form,
            "playlists": playlists,
            "modes": MODE_LABELS,
            "estimates": estimates,
        },
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
        "what": describe(row["target_kind"], row["target_id"], row["mode"]),
        "targets": data.request_targets(db, row),
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


def _cancel(db_path: str, request_id: int, user: str, at, address) -> bool:
    db = open_db(db_path, migrate=False)
    try:
        return queue.cancel(db, request_id, actor=user, now=at, remote_addr=address)
    finally:
        db.close()


async def request_cancel(request, datasette):
    """POST: take a waiting request out of the queue (staff only), then show it."""
    if request.method != "POST":
        return Response.redirect(datasette.urls.path(f"/-/requests/{request.url_vars['id']}"))
    user = current_user(datasette, request)
    if user is None or user["role"] != "staff" or not config(datasette).get("users_file"):
        raise Forbidden("依頼の取り消しは職員アカウントのみできます")
    request_id = int(request.url_vars["id"])
    if request_id > MAX_ROW_ID:
        raise NotFound("その依頼はありません")
    await asyncio.to_thread(
        _cancel,
        config(datasette)["db_path"],
        request_id,
        user["id"],
        now(datasette),
        remote_addr(request),
    )
    return Response.redirect(datasette.urls.path(f"/-/requests/{request_id}"))


async def request_detail(request, datasette):
    """One request: its place in the queue, then its outcome; the page polls the JSON form."""
    if not can_read(datasette, request):
        return login_redirect(datasette, request)
    request_id = int(request.url_vars["id"])
    if request_id > MAX_ROW_ID:
        raise NotFound("その依頼はありません")
    state = await read_for(datasette, request, _request_state, request_id)
    if state is None:
        raise NotFound("その依頼はありません")
    if request.url_vars.get("format") == "json":
        return Response.json(state)
    return await render(datasette, request, "request.html", {"state": state})


async def request_list(request, datasette):
    """Request history: who asked for what, and what came of it."""
    if not can_read(datasette, request):
        return login_redirect(datasette, request)
    rows = await read_for(datasette, request, data.request_history)
    fmt = export_format(request)
    if fmt:
        for r in rows:
            r["target_titles"] = "、".join(t["title"] or t["id"] for t in r["targets"])
            r["target_label"] = target_kind_label(r["target_kind"])
            r["mode_label"], r["status_label"] = mode_label(r["mode"]), status_label(r["status"])
        return table_response(fmt, "requests", REQUEST_COLUMNS, rows)
    return await render(datasette, request, "requests.html", {"rows": rows})
