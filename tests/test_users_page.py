"""The console's users page (/-/users, staff only) and password page (/-/password, everyone
signed in), through Datasette's in-process client: roles, CSRF, the audit rows, bad input.

Each test gets a fresh index (the schema only: these pages read no videos), users file and
clock. The browser tests of the same pages are in test_browser.py and test_accessibility.py.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from archivesync.db import audit
from archivesync.db.schema import open_db
from archivesync.errors import UsersFileError
from archivesync.timestamps import format_utc
from archivesync.web import users as users_mod
from archivesync.web.app import make_datasette

from .web_helpers import fetch

STAFF, STAFF_PASSWORD = "tanaka", "correct-horse-42"
ANALYST, ANALYST_PASSWORD = "sato", "battery-staple-7"
PASSWORDS = [STAFF_PASSWORD, ANALYST_PASSWORD, "new-pass-word-1", "fresh-start-22", "short1"]


class Clock:
    """The console's clock, moved by hand."""

    def __init__(self):
        self.now = datetime.now(UTC)

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """An index with the schema and a users file: copied for each test."""
    root = tmp_path_factory.mktemp("users-page")
    open_db(root / "archive.db").close()
    users = root / "users.json"
    users_mod.add_user(users, STAFF, STAFF_PASSWORD, display_name="田中 花子")
    users_mod.add_user(users, ANALYST, ANALYST_PASSWORD, role="analyst")
    return root


@pytest.fixture
def site(template, tmp_path):
    for name in ("archive.db", "users.json"):
        shutil.copy(template / name, tmp_path / name)
    clock = Clock()
    db, users = tmp_path / "archive.db", tmp_path / "users.json"
    ds = make_datasette(db, users_file=users, clock=clock)
    return {"ds": ds, "db": db, "users": users, "clock": clock}


def _login(ds, name, password) -> dict:
    [answer] = fetch(ds, ("post", "/-/login", {"data": {"username": name, "password": password}}))
    assert answer.status_code == 302, answer.text
    return {"ds_actor": answer.cookies["ds_actor"]}


def _get(ds, path, cookies=None):
    [answer] = fetch(ds, ("get", path, {"cookies": cookies or {}}))
    return answer


def _post(ds, cookies, page, form, *, path=None, headers=None, token=True):
    """POST `form` to `path` (default `page`) with the CSRF token of `page`, as its form does."""
    shown = _get(ds, page, cookies)
    csrf = shown.cookies.get("ds_csrftoken")
    data = dict(form)
    if token:
        data["csrftoken"] = shown.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    [answer] = fetch(
        ds,
        (
            "post",
            path or page,
            {
                "data": data,
                "cookies": {**cookies, "ds_csrftoken": csrf},
                "headers": headers or {},
            },
        ),
    )
    return answer


def _audit(db_path, action=None) -> list[tuple]:
    db = open_db(db_path, migrate=False)
    try:
        rows = reversed(audit.entries(db, action=action))
        return [(r["action"], r["actor"], r["target"], r["outcome"]) for r in rows]
    finally:
        db.close()


def _users(site) -> dict:
    return users_mod.load(site["users"])


def _works(ds, cookies) -> bool:
    """Whether a session cookie still opens the password page."""
    return _get(ds, "/-/password", cookies).status_code == 200


def _nothing_secret_stored(site) -> None:
    stored = site["db"].read_bytes() + site["users"].read_bytes()
    for password in PASSWORDS:
        assert password.encode() not in stored


def _text(answer) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", answer.text))


# --- who may open the pages -------------------------------------------------------------


def test_staff_see_the_users_analysts_get_the_japanese_403_visitors_the_login(site):
    ds = site["ds"]
    staff, analyst = _login(ds, STAFF, STAFF_PASSWORD), _login(ds, ANALYST, ANALYST_PASSWORD)
    page = _get(ds, "/-/users", staff)
    assert page.status_code == 200 and '<html lang="ja">' in page.text
    text = _text(page)
    for shown in ("tanaka", "田中 花子", "職員", "sato", "分析者", "追加日時"):
        assert shown in text, shown
    # Added at, in Tokyo time.
    added = users_mod.load(site["users"])["sato"]["added_at"]
    from archivesync.web.text import jst

    assert jst(added) in text
    assert 'href="/-/users"' in page.text and "パスワードの変更" in page.text
    for path in ("/-/users", "/-/users/tanaka"):
        refused = _get(ds, path, analyst)
        assert refused.status_code == 403, path
        assert "この操作は許可されていません" in refused.text and '<html lang="ja">' in refused.text
        assert "ユーザー管理は職員アカウントのみ" in refused.text
        assert _get(ds, path).status_code == 302  # a visitor: the login page
    # The analyst's menu has no users link, but the password page is one click away.
    overview = _get(ds, "/", analyst)
    assert 'href="/-/users"' not in overview.text and 'href="/-/password"' in overview.text
    assert _get(ds, "/-/password", analyst).status_code == 200
    assert _get(ds, "/-/password").status_code == 302
    assert _get(ds, "/-/users/nobody.here", staff).status_code == 404


def test_without_a_users_file_there_is_no_users_page(site):
    ds = make_datasette(site["db"])
    for path in ("/-/users", "/-/users/tanaka", "/-/password"):
        answer = _get(ds, path)
        assert answer.status_code == 404 and "ページが見つかりません" in answer.text, path
    assert 'href="/-/users"' not in _get(ds, "/").text


# --- adding -------------------------------------------------------------------------------


def test_staff_add_a_user_who_can_then_log_in_and_the_trail_says_who(site):
    ds = site["ds"]
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    form = {"id": "yamada.taro", "display_name": "山田 太郎", "role": "staff",
            "password": "new-pass-word-1"}  # fmt: skip
    answer = _post(ds, staff, "/-/users", form)
    assert answer.status_code == 302
    assert answer.headers["location"] == "/-/users?done=added&name=yamada.taro"
    done = _get(ds, answer.headers["location"], staff)
    assert "yamada.taro を追加しました" in done.text and "山田 太郎" in done.text
    user = _users(site)["yamada.taro"]
    assert (user["role"], user["display_name"]) == ("staff", "山田 太郎")
    assert user["added_at"] == format_utc(site["clock"].now)
    assert _audit(site["db"], "user_added") == [("user_added", STAFF, "yamada.taro", "ok")]
    yamada = _login(ds, "yamada.taro", "new-pass-word-1")
    assert "山田 太郎" in _get(ds, "/", yamada).text
    _nothing_secret_stored(site)


BAD_ADDS = [
    ({"id": "山田", "password": "new-pass-word-1"}, "ログイン ID は半角の英字・数字"),
    ({"id": "yamada taro", "password": "new-pass-word-1"}, "ログイン ID は半角の英字・数字"),
    ({"id": "Root", "password": "new-pass-word-1"}, "予約されています"),
    ({"id": "yamada", "password": "short1"}, "パスワードは 8 文字以上"),
    ({"id": "sato", "password": "new-pass-word-1"}, "すでに使われています"),
    ({"id": "yamada", "password": "new-pass-word-1", "role": "root"}, "役割を選んで"),
    ({"id": "yamada", "password": "new-pass-word-1", "display_name": "長" * 65}, "64 文字まで"),
]


@pytest.mark.parametrize("form, message", BAD_ADDS, ids=[m for _, m in BAD_ADDS])
def test_bad_input_is_a_japanese_message_in_the_form_keeping_what_was_typed(site, form, message):
    ds = site["ds"]
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    before = site["users"].read_bytes()
    form = {"display_name": "山田 太郎", "role": "analyst", **form}
    answer = _post(ds, staff, "/-/users", form)
    assert answer.status_code == 400
    assert message in answer.text and 'role="alert"' in answer.text
    assert "Traceback" not in answer.text and "UsersFileError" not in answer.text
    # What was typed is kept, except the password.
    assert f'name="id" value="{form["id"]}"' in unescape(answer.text)
    if len(form["display_name"]) <= 64:
        assert f'value="{form["display_name"]}"' in answer.text
    if form["role"] in ("staff", "analyst"):
        assert re.search(rf'value="{form["role"]}" checked', answer.text)
    assert form["password"] not in answer.text
    assert site["users"].read_bytes() == before
    assert _audit(site["db"], "user_added") == []


def test_a_post_without_the_csrf_token_or_from_another_site_changes_nothing(site):
    ds = site["ds"]
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    before = site["users"].read_bytes()
    form = {"id": "yamada", "role": "analyst", "password": "new-pass-word-1"}
    assert _post(ds, staff, "/-/users", form, token=False).status_code == 403
    cross = _post(ds, staff, "/-/users", form, headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
    remove = {"action": "remove"}
    assert _post(ds, staff, "/-/users/sato", remove, token=False).status_code == 403
    password = {"current_password": STAFF_PASSWORD, "new_password": "new-pass-word-1",
                "confirm_password": "new-pass-word-1"}  # fmt: skip
    assert _post(ds, staff, "/-/password", password, token=False).status_code == 403
    assert site["users"].read_bytes() == before
    assert [a for a, *_ in _audit(site["db"])] == ["login"]


def test_analysts_and_visitors_cannot_post_to_the_users_page(site):
    ds = site["ds"]
    analyst = _login(ds, ANALYST, ANALYST_PASSWORD)
    before = site["users"].read_bytes()
    form = {"id": "yamada", "role": "staff", "password": "new-pass-word-1"}
    # The analyst's CSRF token comes from a page they may open.
    assert _post(ds, analyst, "/-/password", form, path="/-/users").status_code == 403
    for action in ("remove", "reset"):
        data = {"action": action, "password": "new-pass-word-1"}
        answer = _post(ds, analyst, "/-/password", data, path="/-/users/tanaka")
        assert answer.status_code == 403
    [anonymous] = fetch(ds, ("post", "/-/users", {"data": form}))
    assert anonymous.status_code == 403
    assert site["users"].read_bytes() == before


# --- removing and resetting ---------------------------------------------------------------


def test_staff_remove_a_user_whose_sessions_end_but_never_themselves(site):
    ds = site["ds"]
    staff, analyst = _login(ds, STAFF, STAFF_PASSWORD), _login(ds, ANALYST, ANALYST_PASSWORD)
    page = _get(ds, "/-/users/sato", staff)
    assert "sato (sato) を削除する" in page.text
    answer = _post(ds, staff, "/-/users/sato", {"action": "remove"})
    assert answer.headers["location"] == "/-/users?done=removed&name=sato"
    assert "sato を削除しました" in _get(ds, answer.headers["location"], staff).text
    assert "sato" not in _users(site) and not _works(ds, analyst)
    [row] = [r for r in _audit(site["db"]) if r[0] == "user_removed"]
    assert row == ("user_removed", STAFF, "sato", "ok")
    db = open_db(site["db"], migrate=False)
    ended = db.execute("SELECT end_reason FROM sessions WHERE user = 'sato'").fetchall()
    detail = next(db.query("SELECT detail FROM audit_log WHERE action = 'user_removed'"))
    db.close()
    assert ended == [("user_removed",)] and detail["detail"] == "1 open session(s) ended"
    # One's own page offers no removal; a forged POST is refused with a message.
    own = _get(ds, "/-/users/tanaka", staff)
    assert 'value="remove"' not in own.text and "自分自身は削除できません" in own.text
    refused = _post(ds, staff, "/-/users/tanaka", {"action": "remove"})
    assert refused.status_code == 400 and "自分自身は削除できません" in refused.text
    assert STAFF in _users(site) and _works(ds, staff)
    assert [r[0] for r in _audit(site["db"], "user_removed")] == ["user_removed"]


def test_staff_reset_a_password_the_old_one_and_its_sessions_end(site):
    ds = site["ds"]
    staff, analyst = _login(ds, STAFF, STAFF_PASSWORD), _login(ds, ANALYST, ANALYST_PASSWORD)
    short = _post(ds, staff, "/-/users/sato", {"action": "reset", "password": "short1"})
    assert short.status_code == 400 and "パスワードは 8 文字以上" in short.text
    answer = _post(ds, staff, "/-/users/sato", {"action": "reset", "password": "fresh-start-22"})
    assert answer.headers["location"] == "/-/users/sato?done=reset&name=sato"
    assert "sato のパスワードを再設定しました" in _get(ds, answer.headers["location"], staff).text
    assert not _works(ds, analyst)
    [failed] = fetch(
        ds, ("post", "/-/login", {"data": {"username": "sato", "password": ANALYST_PASSWORD}})
    )
    assert failed.status_code == 401
    assert _works(ds, _login(ds, "sato", "fresh-start-22"))
    assert ("password_changed", STAFF, "sato", "ok") in _audit(site["db"])
    assert _users(site)["sato"]["role"] == "analyst"  # the rest is kept
    # Resetting one's own password goes to the password page (it needs the current one).
    own = _post(ds, staff, "/-/users/sato", {"action": "reset"}, path="/-/users/tanaka")
    assert own.status_code == 302 and own.headers["location"] == "/-/password"
    _nothing_secret_stored(site)


# --- one's own password -------------------------------------------------------------------


def _change(ds, cookies, current, new, confirm=None):
    form = {"current_password": current, "new_password": new, "confirm_password": confirm or new}
    return _post(ds, cookies, "/-/password", form)


def test_anyone_signed_in_changes_their_own_password_with_the_current_one(site):
    ds = site["ds"]
    here, elsewhere = _login(ds, ANALYST, ANALYST_PASSWORD), _login(ds, ANALYST, ANALYST_PASSWORD)
    for current, new, confirm, message in [
        ("wrong-password", "new-pass-word-1", None, "現在のパスワードが違います"),
        (ANALYST_PASSWORD, "new-pass-word-1", "new-pass-word-2", "確認用のパスワードが一致"),
        (ANALYST_PASSWORD, "short1", None, "パスワードは 8 文字以上"),
    ]:  # fmt: skip
        answer = _change(ds, here, current, new, confirm)
        assert answer.status_code == 400 and message in answer.text, message
        assert new not in answer.text and current not in answer.text
    assert users_mod.authenticate(_users(site), "sato", ANALYST_PASSWORD) is not None
    answer = _change(ds, here, ANALYST_PASSWORD, "new-pass-word-1")
    assert answer.status_code == 302 and answer.headers["location"] == "/-/password?done=changed"
    # This browser stays signed in with a new session; the other one is signed out.
    renewed = {"ds_actor": answer.cookies["ds_actor"]}
    assert renewed != here and _works(ds, renewed)
    assert not _works(ds, elsewhere) and not _works(ds, here)
    assert "パスワードを変更しました" in _get(ds, "/-/password?done=changed", renewed).text
    assert users_mod.authenticate(_users(site), "sato", "new-pass-word-1") is not None
    rows = _audit(site["db"])
    assert ("password_changed", "sato", "sato", "ok") in rows
    # The wrong current password counts as a failed login, said where.
    assert ("login_failed", None, "sato", "bad_password") in rows
    db = open_db(site["db"], migrate=False)
    [detail] = db.execute("SELECT detail FROM audit_log WHERE action = 'login_failed'").fetchall()
    db.close()
    assert detail == ("/-/password",)
    _nothing_secret_stored(site)


def test_guessing_the_current_password_locks_the_name_like_the_login(site):
    ds = site["ds"]
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    for _ in range(4):
        answer = _change(ds, staff, "wrong-password", "new-pass-word-1")
        assert "現在のパスワードが違います" in answer.text
    fifth = _change(ds, staff, "wrong-password", "new-pass-word-1")
    assert "まで変更もログインもできません" in fifth.text
    right = _change(ds, staff, STAFF_PASSWORD, "new-pass-word-1")
    assert right.status_code == 400 and "まで変更もログインもできません" in right.text
    assert users_mod.authenticate(_users(site), STAFF, STAFF_PASSWORD) is not None
    [locked] = fetch(
        ds, ("post", "/-/login", {"data": {"username": STAFF, "password": STAFF_PASSWORD}})
    )
    assert locked.status_code == 401 and "ロックされています" in locked.text
    site["clock"].now += timedelta(minutes=16)
    assert _change(ds, staff, STAFF_PASSWORD, "new-pass-word-1").status_code == 302


# --- a users file the console may not change ----------------------------------------------


def test_a_read_only_users_file_is_shown_but_never_changed(site):
    ds = site["ds"]
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    page = _get(ds, "/-/users", staff)  # the CSRF token, before the file turns read-only
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    cookies = {**staff, "ds_csrftoken": page.cookies.get("ds_csrftoken")}
    site["users"].chmod(0o400)
    try:
        assert not users_mod.writable(site["users"])
        shown = _get(ds, "/-/users", staff)
        assert (
            "ユーザーファイルに書き込めない" in shown.text and 'name="password"' not in shown.text
        )
        assert "sato" in shown.text
        assert "書き込めない" in _get(ds, "/-/password", staff).text
        assert 'value="remove"' not in _get(ds, "/-/users/sato", staff).text
        form = {"id": "yamada", "role": "analyst", "password": "new-pass-word-1"}
        [answer] = fetch(
            ds,
            ("post", "/-/users", {"data": {**form, "csrftoken": token}, "cookies": cookies}),
        )
        assert answer.status_code == 400 and "書き込めないため" in answer.text
        assert "yamada" not in json.loads(site["users"].read_text())["users"]
        assert _audit(site["db"], "user_added") == []
    finally:
        site["users"].chmod(0o600)


# --- signed out: told why -----------------------------------------------------------------


def test_a_person_signed_out_by_idle_time_or_a_new_password_is_told_why(site):
    ds, clock = site["ds"], site["clock"]
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    clock.now += timedelta(minutes=31)
    answer = _get(ds, "/-/users", staff)
    assert answer.status_code == 302
    assert answer.headers["location"] == "/-/login?next=%2F-%2Fusers&ended=idle"
    assert "ds_actor=;" in answer.headers["set-cookie"]
    login_page = _get(ds, answer.headers["location"])
    assert "しばらく操作がなかったため" in login_page.text and 'role="status"' in login_page.text
    assert [r for r in _audit(site["db"]) if r[0] == "session_expired"] == [
        ("session_expired", STAFF, STAFF, "idle")
    ]
    # A page open to visitors says it at the top; the next request no longer does.
    analyst = _login(ds, ANALYST, ANALYST_PASSWORD)
    staff = _login(ds, STAFF, STAFF_PASSWORD)
    _post(ds, staff, "/-/users/sato", {"action": "reset", "password": "fresh-start-22"})
    overview = _get(ds, "/", analyst)
    assert overview.status_code == 200 and "パスワードが変更されたため" in overview.text
    assert "パスワードが変更されたため" not in _get(ds, "/").text
    # An unknown reason or a name that is no login id in the address shows nothing.
    forged = _get(ds, "/-/users?done=added&name=攻撃者%20を", staff)
    assert forged.status_code == 200 and "追加しました" not in forged.text
    assert "sato を追加しました" in _get(ds, "/-/users?done=added&name=sato", staff).text
    assert 'role="status"' not in _get(ds, "/-/login?ended=<b>x</b>").text


def test_a_cli_change_waits_for_the_consoles_change_to_the_file(tmp_path):
    """The console and `archivesync users add` change the file one at a time: a change made
    while another holds the file's lock waits, and neither is lost."""
    import fcntl
    import os
    import subprocess
    import sys
    import time

    path = tmp_path / "users.json"
    users_mod.add_user(path, STAFF, STAFF_PASSWORD)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as the console does while it changes the file
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "archivesync", "users", "add", "yamada", "--file", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        cli.stdin.write("another-pass-9\n")
        cli.stdin.close()
        time.sleep(1.5)
        assert cli.poll() is None, cli.stderr.read()  # waiting for the lock
        # What the console writes meanwhile is kept.
        users = json.loads(path.read_text(encoding="utf-8"))
        users["users"]["suzuki"] = {**users["users"][STAFF], "role": "analyst"}
        path.write_text(json.dumps(users), encoding="utf-8")
    finally:
        os.close(fd)
    assert cli.wait(timeout=60) == 0, cli.stderr.read()
    assert sorted(users_mod.load(path)) == ["suzuki", STAFF, "yamada"]


def test_a_staff_member_removed_meanwhile_removes_nobody(tmp_path):
    """Two staff removing each other at once: the second removal finds its author gone."""
    path = tmp_path / "users.json"
    users_mod.add_user(path, STAFF, STAFF_PASSWORD)
    users_mod.add_user(path, "yamada", "another-pass-9")
    users_mod.remove_user(path, "yamada", by=STAFF)
    with pytest.raises(UsersFileError) as refused:
        users_mod.remove_user(path, STAFF, by="yamada")
    assert refused.value.reason == "not_staff"
    assert list(users_mod.load(path)) == [STAFF]
