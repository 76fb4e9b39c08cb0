"""The users page (ユーザー管理, staff only) and the password page (everyone signed in).

Every change goes through web/users.py, the same functions as `archivesync users`, and is
audited in the same step (web/user_changes.py) with the signed-in person as actor; never a
password. Without `serve --users` neither page exists; with a users file this process cannot
write, the pages say so and change nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from urllib.parse import urlencode

from datasette.utils.asgi import Forbidden, NotFound, Response

from archivesync.errors import ArchiveSyncError
from archivesync.web import login as login_mod
from archivesync.web import sessions
from archivesync.web import users as users_mod
from archivesync.web.access import config, current_user, login_redirect, now
from archivesync.web.respond import render
from archivesync.web.text import jst
from archivesync.web.user_changes import change_users

ROLE_LABELS = {"staff": "職員", "analyst": "分析者"}
# The console's words for what web/users.py refuses (UsersFileError.reason), and the pages' own.
PROBLEMS_JA = {
    "name": "ログイン ID は半角の英字・数字と「.」「_」「@」「-」で 64 文字まで、先頭は英字か数字に"
    "してください (例: yamada.taro)。漢字のお名前は「表示名」に入れてください。",
    "reserved": "そのログイン ID は使えません (予約されています)。",
    "display_name": "表示名は 64 文字までにしてください。",
    "role": "役割を選んでください。",
    "password": f"パスワードは {users_mod.MIN_PASSWORD_LENGTH} 文字以上にしてください。",
    "exists": "そのログイン ID はすでに使われています。別の ID にするか、一覧からその人の"
    "パスワードを再設定してください。",
    "missing": "そのユーザーはいません (すでに削除されたのかもしれません)。",
    "self": "自分自身は削除できません。ほかの職員に依頼してください。",
    "not_staff": "あなたのアカウントは職員ではなくなったため (削除されたか役割が変わったため)、"
    "削除できません。",
    "file": "ユーザーファイルを読み書きできません。運用担当に連絡してください。",
    "mismatch": "新しいパスワードと確認用のパスワードが一致しません。",
    "current": "現在のパスワードが違います。",
    "readonly": "このサーバーはユーザーファイルに書き込めないため、変更できません。"
    "運用担当に連絡してください。",
}
DONE_JA = {
    "added": "{name} を追加しました。初期パスワードを本人に安全な方法で伝えてください。",
    "removed": "{name} を削除しました。開いていたセッションは終了しました。",
    "reset": "{name} のパスワードを再設定しました。開いていたセッションは終了しました。",
    "changed": "パスワードを変更しました。ほかの端末のセッションは終了しました。",
}


class Refused(Exception):
    """A change refused, with the key of its Japanese message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _signed_in(datasette, request, *, staff: bool) -> dict | None:
    """The signed-in user allowed here; None for a visitor (who is sent to the login page)."""
    if not config(datasette).get("users_file"):
        raise NotFound("ユーザー管理はユーザーファイルがあるときだけ使えます (--users)")
    user = current_user(datasette, request)
    if user is None and request.method == "POST":
        raise Forbidden("ログインが必要です")
    if user is not None and staff and user["role"] != "staff":
        raise Forbidden("ユーザー管理は職員アカウントのみ使えます")
    return user


def _message(reason: str) -> str:
    return PROBLEMS_JA.get(reason, PROBLEMS_JA["file"])


async def _apply(datasette, request, user: dict, target: str, change) -> None:
    """Run `change` on the users file and audit it, in a thread; Refused if it is refused."""
    cfg = config(datasette)
    if not users_mod.writable(cfg["users_file"]):
        raise Refused("readonly")
    try:
        await asyncio.to_thread(
            change_users,
            cfg["db_path"],
            change,
            target=target,
            actor=user["id"],
            at=now(datasette),
            remote_addr=login_mod.remote_addr(request),
        )
    except users_mod.UsersFileError as e:
        raise Refused(e.reason) from None
    except (ArchiveSyncError, sqlite3.Error):
        raise Refused("file") from None  # the audit row cannot be written: nothing changed


def _load(cfg: dict) -> dict[str, dict]:
    try:
        return users_mod.load(cfg["users_file"])
    except users_mod.UsersFileError:
        return {}


def _rows(users: dict[str, dict]) -> list[dict]:
    return [
        {
            "id": name,
            "display_name": u.get("display_name") or "",
            "role": ROLE_LABELS.get(u["role"], u["role"]),
            "added_at": jst(u.get("added_at")),
        }
        for name, u in sorted(users.items())
    ]


def _done(request) -> str | None:
    """What the redirect after a change says was done (a login id only, never other text)."""
    done, name = request.args.get("done"), request.args.get("name") or ""
    if done not in DONE_JA or (name and not users_mod.NAME_PATTERN.match(name)):
        return None
    return DONE_JA[done].format(name=name)


def _redirect(datasette, path: str, **params) -> Response:
    return Response.redirect(datasette.urls.path(path) + "?" + urlencode(params))


async def users_view(request, datasette):
    """GET: the users and a form to add one. POST: add the user (staff only)."""
    user = _signed_in(datasette, request, staff=True)
    if user is None:
        return login_redirect(datasette, request)
    cfg = config(datasette)
    error, form = None, {"id": "", "display_name": "", "role": "analyst"}
    if request.method == "POST":
        posted = await request.post_vars()
        form = {
            "id": (posted.get("id") or "").strip()[:64],
            "display_name": (posted.get("display_name") or "")[:200],
            "role": posted.get("role") or "",
        }
        password = posted.get("password") or ""

        def add() -> str:
            users_mod.add_user(
                cfg["users_file"],
                form["id"],
                password,
                form["role"],
                form["display_name"].strip() or None,
                replace=False,
                at=now(datasette),
            )
            return "user_added"

        try:
            await _apply(datasette, request, user, form["id"], add)
        except Refused as e:
            error = _message(e.reason)
        else:
            return _redirect(datasette, "/-/users", done="added", name=form["id"])
    users = await asyncio.to_thread(_load, cfg)
    return await render(
        datasette,
        request,
        "users.html",
        {
            "rows": _rows(users),
            "form": form,
            "roles": ROLE_LABELS,
            "error": error,
            "done": _done(request),
            "can_write": users_mod.writable(cfg["users_file"]),
            "min_password": users_mod.MIN_PASSWORD_LENGTH,
        },
        400 if error else 200,
    )


async def user_view(request, datasette):
    """One user: reset the password or remove them (staff only; never oneself)."""
    user = _signed_in(datasette, request, staff=True)
    if user is None:
        return login_redirect(datasette, request)
    cfg = config(datasette)
    name = request.url_vars["name"]
    users = await asyncio.to_thread(_load, cfg)
    if name not in users:
        raise NotFound("そのユーザーはいません")
    error = None
    if request.method == "POST":
        posted = await request.post_vars()
        action = posted.get("action")
        password = posted.get("password") or ""

        def reset() -> str:
            users_mod.set_password(cfg["users_file"], name, password)
            return "password_changed"

        def remove() -> str:
            users_mod.remove_user(cfg["users_file"], name, by=user["id"])
            return "user_removed"

        changes = {"reset": reset, "remove": remove}
        if action not in changes:
            raise NotFound("その操作はありません")
        if action == "reset" and name == user["id"]:
            # One's own password needs the current one: the password page.
            return Response.redirect(datasette.urls.path("/-/password"))
        try:
            await _apply(datasette, request, user, name, changes[action])
        except Refused as e:
            error = _message(e.reason)
        else:
            if action == "remove":
                return _redirect(datasette, "/-/users", done="removed", name=name)
            return _redirect(datasette, f"/-/users/{name}", done="reset", name=name)
    [row] = _rows({name: users[name]})
    return await render(
        datasette,
        request,
        "user.html",
        {
            "who": row,
            "is_me": name == user["id"],
            "error": error,
            "done": _done(request),
            "can_write": users_mod.writable(cfg["users_file"]),
            "min_password": users_mod.MIN_PASSWORD_LENGTH,
        },
        400 if error else 200,
    )


def _check_current(cfg: dict, name: str, password: str, at, address) -> str | None:
    """None if `password` is `name`'s; else the Japanese message. A wrong one counts as a
    failed login (the login page's lockout covers this form too)."""
    until = login_mod.is_locked(cfg["db_path"], name, at)
    if until is None:
        if users_mod.authenticate(_load(cfg), name, password) is not None:
            return None
        login_mod.record_failure(cfg["db_path"], name, at, address, detail="/-/password")
        until = login_mod.is_locked(cfg["db_path"], name, at)
    if until is None:
        return PROBLEMS_JA["current"]
    return (
        f"現在のパスワードの誤りが続いたため、{jst(until)} まで変更もログインもできません。"
        "その後にもう一度お試しください。"
    )


async def password_view(request, datasette):
    """GET: the form to change one's own password. POST: check the current one, change it."""
    user = _signed_in(datasette, request, staff=False)
    if user is None:
        return login_redirect(datasette, request)
    cfg = config(datasette)
    error, status = None, 200
    if request.method == "POST":
        posted = await request.post_vars()
        new = posted.get("new_password") or ""
        address = login_mod.remote_addr(request)
        at = now(datasette)
        error = await asyncio.to_thread(
            _check_current, cfg, user["id"], posted.get("current_password") or "", at, address
        )
        if error is None and new != (posted.get("confirm_password") or ""):
            error = PROBLEMS_JA["mismatch"]
        if error is None:

            def change() -> str:
                users_mod.set_password(cfg["users_file"], user["id"], new)
                return "password_changed"

            try:
                await _apply(datasette, request, user, user["id"], change)
            except Refused as e:
                error = _message(e.reason)
            else:
                return await _signed_in_again(datasette, request, user["id"], at, address)
        status = 400
    return await render(
        datasette,
        request,
        "password.html",
        {
            "error": error,
            "done": _done(request),
            "can_write": users_mod.writable(cfg["users_file"]),
            "min_password": users_mod.MIN_PASSWORD_LENGTH,
        },
        status,
    )


async def _signed_in_again(datasette, request, name: str, at, address) -> Response:
    """After one's own new password: every session ended; this browser gets a new one."""
    cfg = config(datasette)
    users = await asyncio.to_thread(_load, cfg)
    token = await asyncio.to_thread(sessions.start, cfg["db_path"], name, users[name], at, address)
    response = _redirect(datasette, "/-/password", done="changed")
    login_mod.set_session_cookie(response, datasette, request, name, token)
    return response
