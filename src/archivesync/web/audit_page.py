"""The audit page (監査ログ): who did what, when; for staff only, with filters and exports."""

from __future__ import annotations

from datasette.utils.asgi import Forbidden, NotFound

from archivesync.db import audit
from archivesync.web import users as users_mod
from archivesync.web.access import config, current_user, login_redirect
from archivesync.web.respond import read_as_staff, render
from archivesync.web.tables import Column, export_format, table_response

ACTION_LABELS = {
    "login": "ログイン",
    "login_failed": "ログイン失敗",
    "logout": "ログアウト",
    "resync_queued": "再同期の依頼",
    "resync_cancelled": "再同期の取り消し",
    "user_added": "ユーザー追加",
    "user_removed": "ユーザー削除",
    "password_changed": "パスワード変更",
    "session_expired": "セッション期限切れ",
}
OUTCOME_LABELS = {
    "ok": "成功",
    "merged": "待機中の依頼に合流",
    "bad_password": "パスワード違い",
    "locked": "ロック中",
    "slowed": "待機中 (失敗が続いたため)",
    "not_queued": "待機中ではなかった",
    "idle": "無操作",
    "max_age": "最長時間",
}
AUDIT_COLUMNS = [
    Column("id", "番号"),
    Column("at", "日時"),
    Column("actor", "実行者"),
    Column("actor_name", "実行者の名前"),
    Column("action_label", "操作"),
    Column("target", "対象"),
    Column("outcome_label", "結果"),
    Column("remote_addr", "接続元"),
    Column("detail", "詳細"),
]


async def audit_view(request, datasette):
    """The audit trail, newest first, filtered by person and action (staff only)."""
    cfg = config(datasette)
    if not cfg.get("users_file"):
        raise NotFound("監査ログはユーザーファイルがあるときだけ使えます")
    user = current_user(datasette, request)
    if user is None:
        return login_redirect(datasette, request)
    if user["role"] != "staff":
        raise Forbidden("監査ログは職員アカウントのみ表示できます")
    person = (request.args.get("person") or "").strip()[:64] or None
    action = request.args.get("action") or None
    if action not in ACTION_LABELS:
        action = None
    rows = await read_as_staff(datasette, audit.entries, actor=person, action=action)
    try:
        names = {k: v.get("display_name") for k, v in users_mod.load(cfg["users_file"]).items()}
    except users_mod.UsersFileError:
        names = {}
    for r in rows:
        r["actor_name"] = names.get(r["actor"]) or ""
        r["action_label"] = ACTION_LABELS.get(r["action"], r["action"])
        r["outcome_label"] = OUTCOME_LABELS.get(r["outcome"], r["outcome"])
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, "audit", AUDIT_COLUMNS, rows)
    return await render(
        datasette,
        request,
        "audit.html",
        {
            "rows": rows,
            "person": person or "",
            "action": action or "",
            "actions": ACTION_LABELS,
            "query_string": request.query_string,
        },
    )
