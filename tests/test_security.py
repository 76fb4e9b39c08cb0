"""What a hostile visitor, analyst or staff member can send (issue 21), and what must hold.

Most checks go through Datasette's test client in process; the memory check runs a real
`archivesync serve` and reads its peak memory from /proc.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archivesync.web import users as users_mod
from archivesync.web.app import make_datasette

from .browser import start_server
from .helpers import SAMPLE
from .web_helpers import cookie_for, fetch, synced_index


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    return {**synced_index(root), "root": root}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# --- 1. one GET must not exhaust the server's memory ---------------------------------------


def test_huge_values_and_answers_are_refused_and_the_server_stays_small(index):
    """Finding 1: `zeroblob(1000000000)` once took 24 GB; a 50 MB blob 1.5 GB."""
    server, url = start_server(index["db"], None)
    try:
        pid = server.proc.pid
        status, answer = _get_json(f"{url}/archive.json?sql=select+1")
        assert status == 200
        before = _peak_rss_mb(pid)
        many = (
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 200) "
            "select i, zeroblob(3000000) from n"
        )
        for sql, message in [
            ("select zeroblob(1000000000)", "too big"),
            ("select zeroblob(50000000)", "too big"),
            (many, "larger than 16 MB"),
        ]:
            status, answer = _get_json(
                f"{url}/archive.json?" + urllib.parse.urlencode({"sql": sql})
            )
            assert status == 400, (sql, answer)
            assert answer["ok"] is False and message in answer["error"], answer
        peak = _peak_rss_mb(pid)
        # The answers that were refused would each have needed hundreds of MB.
        assert peak - before < 120, (before, peak)
        status, _ = _get_json(f"{url}/archive.json?sql=select+count(*)+from+videos")
        assert status == 200
    finally:
        server.close()


# --- 2. the plugin's SQL functions cap their input and stop at the time limit --------------


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_search_functions_refuse_huge_input_and_stop_at_the_time_limit(index):
    """Finding 2: contains_all over two 30-million-character strings ran 40 s past the limit."""
    from archivesync.analysts import datasette_plugin as plugin

    with pytest.raises(plugin.InputTooLong):
        plugin.archivesync_contains_all("x" * 2000, "y")
    with pytest.raises(plugin.InputTooLong):
        plugin.archivesync_term_hits("dx", "y" * (plugin.MAX_TEXT_CHARS + 1))
    ds = make_datasette(index["db"], sql_time_limit_ms=200)
    slow = (
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000000) "
        "select count(*) from n where archivesync_contains_all('人材 dx', '人材の育成とdx')"
    )
    huge = "select archivesync_contains_all(printf('%.*c', 300000, 'x'), 'y')"
    timed_out, too_long = fetch(
        ds,
        ("get", "/archive.json", {"params": {"sql": slow}}),
        ("get", "/archive.json", {"params": {"sql": huge}}),
    )
    assert timed_out.status_code == 400 and "too long" in timed_out.json()["error"]
    assert too_long.status_code == 400 and too_long.json()["ok"] is False


# --- 11. and what held: one authorizer for the CLI and Datasette ---------------------------


REFUSED_SQL = [
    "select fts3_tokenizer('simple')",
    "select load_extension('/tmp/x.so')",
    "attach database '/tmp/other.db' as other",
    "vacuum into '/tmp/copy.db'",
    "pragma query_only = 0",
    "delete from videos",
    "pragma writable_schema = 1",
]


@pytest.mark.parametrize("sql", REFUSED_SQL)
def test_datasette_and_the_cli_refuse_the_same_sql(index, sql):
    from .helpers import run_cli

    ds = make_datasette(index["db"])
    [answer] = fetch(ds, ("get", "/archive.json", {"params": {"sql": sql}}))
    assert answer.status_code in (400, 403), answer.text
    assert answer.json()["ok"] is False
    env = {"PYTHONPATH": str(SAMPLE.parents[1] / "src"), "PATH": "/usr/bin:/bin"}
    done = run_cli(["sql", "--db", str(index["db"]), sql], env)
    assert done.returncode != 0 and "Traceback" not in done.stderr


def test_the_authorizer_is_the_cli_one(index):
    """One guard: the Datasette hook installs readonly_sql's authorizer, fts3_tokenizer too."""
    import sqlite3

    from archivesync.analysts import datasette_plugin as plugin

    conn = sqlite3.connect(f"file:{index['db']}?mode=ro", uri=True)
    plugin.prepare_connection(conn, "archive")
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        conn.execute("select fts3_tokenizer('simple')")
    assert conn.execute("select count(*) from videos").fetchone()[0] > 0
    conn.close()


def test_anonymous_visitors_run_no_free_sql_when_there_are_users(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    anonymous, canned, analyst = fetch(
        ds,
        ("get", "/archive.json", {"params": {"sql": "select 1"}}),
        ("get", "/archive/search.json", {"params": {"q": "人材"}}),
        (
            "get",
            "/archive.json",
            {"params": {"sql": "select 1"}, "cookies": cookie_for(ds, "sato")},
        ),
    )
    assert anonymous.status_code == 403
    assert canned.status_code == 200
    assert analyst.status_code == 200
    # Without a users file nobody can sign in: SQL stays open (a machine's own loopback).
    [open_sql] = fetch(make_datasette(index["db"]), ("get", "/archive.json?sql=select+1", {}))
    assert open_sql.status_code == 200


def test_metadata_shows_no_paths(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    [meta] = fetch(ds, ("get", "/-/metadata.json", {}))
    assert meta.status_code == 200
    assert str(index["root"]) not in meta.text and "users.json" not in meta.text


# --- 3, 4. login: no redirect off the site, no login or logout forced from another site ----


class Clock:
    """An injected clock for the console: starts now, moved by hand."""

    def __init__(self):
        from datetime import UTC, datetime

        self.now = datetime.now(UTC)

    def __call__(self):
        return self.now

    def advance(self, **kwargs):
        from datetime import timedelta

        self.now += timedelta(**kwargs)


@pytest.fixture(scope="module")
def users_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users.json"
    users_mod.add_user(path, "tanaka", "correct-horse-42", display_name="田中 花子")
    users_mod.add_user(path, "sato", "battery-staple-7", role="analyst")
    return path


def _users(tmp_path, template):
    import shutil

    path = tmp_path / "users.json"
    shutil.copy(template, path)
    return path


@pytest.fixture
def console(index, tmp_path, users_template):
    """A fresh index copy, users file and clock per test: lockouts and sessions start empty."""
    import shutil

    from archivesync.db.schema import open_db

    db = tmp_path / "archive.db"
    shutil.copy(index["db"], db)
    open_db(db).close()
    clock = Clock()
    users = _users(tmp_path, users_template)
    ds = make_datasette(db, users_file=users, clock=clock)
    return {"ds": ds, "db": db, "users": users, "clock": clock}


def _login(ds, name, password, headers=None, next_path=None):
    data = {"username": name, "password": password}
    if next_path is not None:
        data["next"] = next_path
    [answer] = fetch(ds, ("post", "/-/login", {"data": data, "headers": headers or {}}))
    return answer


def _audit(db_path, action=None):
    from archivesync.db import audit
    from archivesync.db.schema import open_db

    db = open_db(db_path, migrate=False)
    try:
        return list(reversed(audit.entries(db, action=action)))
    finally:
        db.close()


UNSAFE_NEXT = [
    "/\\evil.example/phish",
    "/\tevil.example",
    "/\t/evil.example",
    "//evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/ok\r\nSet-Cookie: x=1",
    " /evil",
]


def test_after_login_only_a_path_on_this_site(console):
    """Finding 3: `/%5Cevil.example/phish` was followed to another host; CRLF gave a 500."""
    from archivesync.web.login import safe_next

    assert [safe_next(p) for p in UNSAFE_NEXT] == ["/"] * len(UNSAFE_NEXT)
    answer = _login(console["ds"], "tanaka", "correct-horse-42", next_path=UNSAFE_NEXT[0])
    assert answer.status_code == 302
    assert answer.headers["location"] == "/"
    [form] = fetch(console["ds"], ("get", "/-/login?next=/%0d%0aX:1", {}))
    assert form.status_code == 200 and 'name="next" value="/"' in form.text


def test_a_path_on_this_site_is_kept_after_login(console):
    answer = _login(console["ds"], "tanaka", "correct-horse-42", next_path="/-/search?q=%E4%BA%BA")
    assert answer.headers["location"] == "/-/search?q=%E4%BA%BA"


CROSS_SITE = [
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"origin": "https://evil.example"},
    {"origin": "null"},
]


def test_login_and_logout_from_another_site_are_refused_without_a_cookie(console):
    """Finding 4: a POST without cookies skipped the CSRF check: login CSRF, forced logout."""
    ds = console["ds"]
    for headers in CROSS_SITE:
        login = _login(ds, "tanaka", "correct-horse-42", headers=headers)
        assert login.status_code == 403 and "ds_actor" not in login.cookies
        [logout] = fetch(ds, ("post", "/-/logout", {"headers": headers}))
        assert logout.status_code == 403
    assert _audit(console["db"], "login") == []
    same = _login(ds, "tanaka", "correct-horse-42", headers={"sec-fetch-site": "same-origin"})
    assert same.status_code == 302


# --- 8 + issue 19.3: sessions end; lockout; slowing; idle and maximum age -----------------


def _session_works(ds, cookies) -> bool:
    [page] = fetch(ds, ("get", "/-/resync", {"cookies": cookies}))
    return page.status_code == 200


def _cookies(answer) -> dict:
    return {"ds_actor": answer.cookies["ds_actor"]}


def test_logout_ends_the_session_for_good(console):
    """Finding 8: the signed cookie stayed valid for 12 h after logout."""
    ds = console["ds"]
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    assert _session_works(ds, cookies)
    [page] = fetch(ds, ("get", "/-/resync", {"cookies": cookies}))
    csrf = page.cookies["ds_csrftoken"]
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    [out] = fetch(
        ds,
        (
            "post",
            "/-/logout",
            {"data": {"csrftoken": token}, "cookies": {**cookies, "ds_csrftoken": csrf}},
        ),
    )
    assert out.status_code == 302
    assert not _session_works(ds, cookies)  # the old cookie, replayed
    assert [(r["action"], r["actor"]) for r in _audit(console["db"])] == [
        ("login", "tanaka"),
        ("logout", "tanaka"),
    ]


def test_a_new_password_or_removal_ends_open_sessions(console):
    ds = console["ds"]
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    users_mod.add_user(console["users"], "tanaka", "a-new-password-1")
    assert not _session_works(ds, cookies)
    cookies = _cookies(_login(ds, "tanaka", "a-new-password-1"))
    assert _session_works(ds, cookies)
    users_mod.remove_user(console["users"], "tanaka")
    assert not _session_works(ds, cookies)


def test_sessions_end_when_idle_and_at_the_maximum_age(console):
    ds, clock = console["ds"], console["clock"]
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    clock.advance(minutes=29)
    assert _session_works(ds, cookies)
    clock.advance(minutes=31)
    assert not _session_works(ds, cookies)
    [expired] = _audit(console["db"], "session_expired")
    assert (expired["actor"], expired["outcome"]) == ("tanaka", "idle")
    # Used every 20 minutes, a session still ends 12 hours after login.
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    for _ in range(35):
        clock.advance(minutes=20)
        assert _session_works(ds, cookies)
    clock.advance(minutes=20)
    assert not _session_works(ds, cookies)
    assert _audit(console["db"], "session_expired")[-1]["outcome"] == "max_age"


def test_idle_time_is_set_by_serve(console):
    from datetime import timedelta

    clock = Clock()
    ds = make_datasette(
        console["db"],
        users_file=console["users"],
        clock=clock,
        session_idle=timedelta(minutes=5),
    )
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    clock.advance(minutes=6)
    assert not _session_works(ds, cookies)


def test_five_failures_lock_the_name_for_fifteen_minutes(console):
    ds, clock = console["ds"], console["clock"]
    for _ in range(4):
        assert _login(ds, "tanaka", "wrong-password").status_code == 401
        clock.advance(minutes=2)
    fifth = _login(ds, "tanaka", "wrong-password")
    assert fifth.status_code == 401 and "ロックされています" in fifth.text
    # Even the right password is refused, with the time to try again (JST).
    from datetime import timedelta

    from archivesync.web.text import jst

    locked = _login(ds, "tanaka", "correct-horse-42")
    assert locked.status_code == 401 and "ds_actor" not in locked.cookies

    # Locked for 15 minutes from the 5th failure (now), shown in Tokyo time.
    unlock = jst(clock.now.replace(second=0, microsecond=0) + timedelta(minutes=15))
    assert f"{unlock} まで" in locked.text and "ロックされています" in locked.text
    # The other user is not affected.
    assert _login(ds, "sato", "battery-staple-7").status_code == 302
    clock.advance(minutes=16)
    assert _login(ds, "tanaka", "correct-horse-42").status_code == 302
    outcomes = [r["outcome"] for r in _audit(console["db"], "login_failed")]
    assert outcomes == ["bad_password"] * 5 + ["locked"]


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(console):
    ds, clock = console["ds"], console["clock"]
    for _ in range(6):
        assert _login(ds, "tanaka", "wrong-password").status_code == 401
        clock.advance(minutes=4)
    assert _login(ds, "tanaka", "correct-horse-42").status_code == 302


def test_many_failures_from_one_address_are_slowed(console):
    ds, clock = console["ds"], console["clock"]
    names = [f"guess{i}" for i in range(10)]
    for name in names:
        assert _login(ds, name, "wrong-password").status_code == 401
    slowed = _login(ds, "tanaka", "correct-horse-42")
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    assert "秒待って" in slowed.text
    clock.advance(seconds=int(slowed.headers["retry-after"]))
    assert _login(ds, "tanaka", "correct-horse-42").status_code == 302


def test_a_failed_login_keeps_the_name_and_never_records_a_password(console):
    ds = console["ds"]
    answer = _login(ds, "tanaka", "wrong-password-xyz")
    assert 'value="tanaka"' in answer.text
    _login(ds, "correct-horse-42", "x")  # a password typed into the name field
    text = console["db"].read_bytes()
    assert b"wrong-password-xyz" not in text and b"correct-horse-42" not in text
    rows = _audit(console["db"], "login_failed")
    assert [r["target"] for r in rows] == ["tanaka", "correct-horse-42"] or rows[1]["target"] in (
        "correct-horse-42",
        "(invalid name)",
    )


def test_display_name_in_the_header(console):
    ds = console["ds"]
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    [page] = fetch(ds, ("get", "/", {"cookies": cookies}))
    assert "田中 花子" in page.text and "(tanaka)" in page.text


# --- headers and cookie flags (19.3) ------------------------------------------------------


def test_every_response_carries_the_security_headers(console):
    ds = console["ds"]
    login = _login(ds, "tanaka", "correct-horse-42")
    pages_ = fetch(
        ds,
        ("get", "/", {}),
        ("get", "/-/login", {}),
        ("get", "/archive", {}),
        ("get", "/archive/videos", {}),
        ("get", "/-/console/console.css", {}),
    )
    for answer in [login, *pages_]:
        csp = answer.headers["content-security-policy"]
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    set_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert "secure" not in set_cookie  # plain HTTP on loopback


def test_console_pages_need_no_inline_script(console):
    import re

    ds = console["ds"]
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    paths = ["/", "/-/resync", "/-/search?q=DX", "/-/requests", "/-/login"]
    for path in [*paths, "/-/users", "/-/users/sato", "/-/password"]:
        [page] = fetch(ds, ("get", path, {"cookies": cookies}))
        assert page.status_code == 200, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), path
        assert not re.search(r"\son[a-z]+=", page.text), path


def test_cookies_are_secure_behind_a_proxy_that_says_https(index, tmp_path, users_template):
    users = _users(tmp_path, users_template)
    server, url = start_server(index["db"], None, "--users", str(users))
    try:
        body = urllib.parse.urlencode(
            {"username": "tanaka", "password": "correct-horse-42"}
        ).encode()
        for proto, secure in (("https", True), (None, False)):
            request = urllib.request.Request(f"{url}/-/login", data=body, method="POST")
            if proto:
                request.add_header("X-Forwarded-Proto", proto)
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(request, timeout=30)
            except urllib.error.HTTPError as e:
                answer = e
            cookie = answer.headers["set-cookie"]
            assert answer.code == 302 and "ds_actor=" in cookie
            assert ("Secure" in cookie) is secure, cookie
    finally:
        server.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# --- 9, 10, 13: internals for staff only; `root` reserved; numbers out of range ------------


def test_internals_are_for_staff_only(console):
    ds = console["ds"]
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    analyst = _cookies(_login(ds, "sato", "battery-staple-7"))
    for path in ["/-/databases.json", "/-/threads.json", "/-/plugins.json", "/_internal"]:
        anonymous, as_analyst, as_staff = fetch(
            ds,
            ("get", path, {}),
            ("get", path, {"cookies": analyst}),
            ("get", path, {"cookies": staff}),
        )
        assert anonymous.status_code == 403 and as_analyst.status_code == 403, path
        assert as_staff.status_code in (200, 403), path
    [dbs, refused] = fetch(
        ds,
        ("get", "/-/databases.json", {"cookies": staff}),
        ("get", "/-/databases.json", {"cookies": analyst}),
    )
    assert dbs.status_code == 200 and str(console["db"]) in dbs.text
    assert refused.json() == {"ok": False, "error": "職員アカウントのみ表示できます"}


def test_who_asked_for_a_resync_is_shown_to_staff_only(console):
    from archivesync.db.schema import open_db
    from archivesync.sync.requests import enqueue
    from archivesync.sync.run import Target

    db = open_db(console["db"])
    with db.conn:
        request_id = enqueue(db, Target("videos", ["kD7mQx2LrVw"]), "tanaka")
    db.close()
    ds = console["ds"]
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    paths = ["/-/requests", "/-/requests?format=csv", f"/-/requests/{request_id}.json",
             "/archive/sync_requests.json", "/"]  # fmt: skip
    for path in paths:
        [anonymous] = fetch(ds, ("get", path, {}))
        assert anonymous.status_code == 200, path
        assert "tanaka" not in anonymous.text, path
    for path in paths[:3]:
        [as_staff] = fetch(ds, ("get", path, {"cookies": staff}))
        assert "tanaka" in as_staff.text, path


def test_root_is_reserved(tmp_path):
    """Finding 10: a user named root got Datasette's root powers."""
    for name in ("root", "ROOT", "Root"):
        with pytest.raises(users_mod.UsersFileError, match="reserved"):
            users_mod.add_user(tmp_path / "u.json", name, "long-enough-1")
    # A hand-edited file holding one: it never signs in.
    path = tmp_path / "users.json"
    users_mod.add_user(path, "tanaka", "long-enough-1")
    data = json.loads(path.read_text())
    data["users"]["root"] = data["users"]["tanaka"]
    path.write_text(json.dumps(data))
    assert users_mod.authenticate(users_mod.load(path), "root", "long-enough-1") is None


def test_a_request_number_out_of_range_is_404(console):
    """Finding 13: /-/requests/99999999999999999999999.json answered 500."""
    ds = console["ds"]
    answers = fetch(
        ds,
        ("get", "/-/requests/99999999999999999999999.json", {}),
        ("get", "/-/requests/99999999999999999999999", {}),
        ("get", "/-/requests/9223372036854775807.json", {}),
    )
    assert [a.status_code for a in answers] == [404, 404, 404]


# --- 5. the resync queue's limits ---------------------------------------------------------


def _staff_post(ds, cookies, form):
    [page] = fetch(ds, ("get", "/-/resync", {"cookies": cookies}))
    csrf = page.cookies.get("ds_csrftoken")
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    [done] = fetch(
        ds,
        (
            "post",
            "/-/resync",
            {"data": {**form, "csrftoken": token}, "cookies": {**cookies, "ds_csrftoken": csrf}},
        ),
    )
    return page, done


def _queued(db_path):
    from archivesync.db.schema import open_db

    db = open_db(db_path, migrate=False)
    try:
        return list(db.query("SELECT * FROM sync_requests ORDER BY id"))
    finally:
        db.close()


def test_the_queue_takes_only_configured_targets_in_reasonable_amounts(console):
    """Finding 5: any channel, any playlist, 100,000 ids and 300 requests were all queued."""
    from archivesync.db.schema import open_db

    from .helpers import SAMPLE_CHANNEL

    ds = console["ds"]
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    db = open_db(console["db"], migrate=False)
    playlist = next(db.query("SELECT id FROM playlists WHERE channel_id = ?", [SAMPLE_CHANNEL]))
    db.close()
    other_channel = "UC" + "x" * 22
    refused = [
        (
            {"kind": "channel", "channel_id": other_channel, "mode": "full"},
            "同期しているチャンネル",
        ),
        ({"kind": "playlist", "playlist_id": "PLnotoursnotours0123"}, "再生リストではありません"),
        (
            {"kind": "videos", "videos": " ".join(f"v{i:09d}x" for i in range(51))},
            "50 本まで",
        ),
    ]
    for form, message in refused:
        _, done = _staff_post(ds, staff, form)
        assert done.status_code == 400 and message in done.text, form
    assert _queued(console["db"]) == []
    # The form shows what each choice would cost before anything is queued.
    page, first = _staff_post(
        ds, staff, {"kind": "channel", "channel_id": SAMPLE_CHANNEL, "mode": "full"}
    )
    assert "完全 約" in page.text and "ユニット" in page.text
    assert first.status_code == 302
    # The same request again joins the one waiting.
    _, again = _staff_post(
        ds, staff, {"kind": "channel", "channel_id": SAMPLE_CHANNEL, "mode": "full"}
    )
    assert again.headers["location"] == first.headers["location"]
    _, by_playlist = _staff_post(ds, staff, {"kind": "playlist", "playlist_id": playlist["id"]})
    assert by_playlist.status_code == 302
    assert len(_queued(console["db"])) == 2
    rows = _audit(console["db"], "resync_queued")
    assert [(r["actor"], r["outcome"]) for r in rows] == [
        ("tanaka", "ok"),
        ("tanaka", "merged"),
        ("tanaka", "ok"),
    ]
    assert "units" in rows[0]["detail"]


def test_requests_per_person_and_hour_are_capped(console):
    from archivesync.db.schema import open_db
    from archivesync.sync import requests as queue
    from archivesync.sync.run import Target

    clock = console["clock"]
    db = open_db(console["db"], migrate=False)
    try:
        for i in range(queue.REQUESTS_PER_HOUR):
            queue.submit(db, Target("videos", [f"v{i:09d}x"]), "tanaka",
                         actor="tanaka", now=clock.now, channels=None)  # fmt: skip
        with pytest.raises(queue.RequestRefused, match="in the last hour"):
            queue.submit(db, Target("videos", ["zzzzzzzzzzz"]), "tanaka",
                         actor="tanaka", now=clock.now, channels=None)  # fmt: skip
        # Someone else may still ask; and an hour later, so may tanaka.
        queue.submit(db, Target("videos", ["zzzzzzzzzzz"]), "sato",
                     actor="sato", now=clock.now, channels=None)  # fmt: skip
        clock.advance(minutes=61)
        queue.submit(db, Target("videos", ["yyyyyyyyyyy"]), "tanaka",
                     actor="tanaka", now=clock.now, channels=None)  # fmt: skip
    finally:
        db.close()


# --- the audit trail (19.2) ---------------------------------------------------------------


def test_users_commands_and_resync_record_the_os_user(console, emulator):
    import getpass

    from .helpers import cli_env, run_cli

    env = cli_env(emulator)
    db, users = str(console["db"]), str(console["users"])
    ds = console["ds"]
    cookies = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    steps = [
        (["users", "add", "--file", users, "--db", db, "--display-name", "山田 太郎", "yamada"],
         "pass-word-99\n"),
        (["users", "add", "--file", users, "--db", db, "tanaka"], "a-new-password-2\n"),
        (["users", "remove", "--file", users, "--db", db, "yamada"], None),
        (["resync", "--db", db, "--video", "kD7mQx2LrVw", "--by", "tanaka"], None),
    ]  # fmt: skip
    for args, stdin in steps:
        done = run_cli(args, env, input=stdin)
        assert done.returncode == 0, done.stderr
    me = getpass.getuser()
    rows = [(r["actor"], r["action"], r["target"]) for r in _audit(console["db"])]
    rows = [r for r in rows if r[0] == me]
    assert rows[0:3] == [
        (me, "user_added", "yamada"),
        (me, "password_changed", "tanaka"),
        (me, "user_removed", "yamada"),
    ]
    assert rows[3][:2] == (me, "resync_queued") and len(rows) == 4
    # The password change ended tanaka's open session.
    assert not _session_works(ds, cookies)
    text = console["db"].read_bytes()
    assert b"pass-word-99" not in text and b"a-new-password-2" not in text


def test_staff_read_the_audit_page_analysts_do_not(console):
    ds = console["ds"]
    _login(ds, "tanaka", "wrong-password")
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    analyst = _cookies(_login(ds, "sato", "battery-staple-7"))
    page, filtered, csv, as_analyst, anonymous, via_sql, table = fetch(
        ds,
        ("get", "/-/audit", {"cookies": staff}),
        ("get", "/-/audit?person=tanaka&action=login_failed", {"cookies": staff}),
        ("get", "/-/audit?format=csv", {"cookies": staff}),
        ("get", "/-/audit", {"cookies": analyst}),
        ("get", "/-/audit", {}),
        (
            "get",
            "/archive.json",
            {"params": {"sql": "select * from audit_log"}, "cookies": analyst},
        ),
        ("get", "/archive/audit_log.json", {"cookies": analyst}),
    )
    assert page.status_code == 200 and '<html lang="ja">' in page.text
    assert "田中 花子 (tanaka)" in page.text and "ログイン失敗" in page.text
    assert "sato" in page.text
    assert "ログイン失敗" in filtered.text and "sato" not in filtered.text
    body = csv.content.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("番号,日時,実行者") and "tanaka" in body
    assert as_analyst.status_code == 403
    assert anonymous.status_code == 302
    assert via_sql.status_code in (400, 403) and "tanaka" not in via_sql.text
    assert table.status_code in (400, 403, 404) and "tanaka" not in table.text
    assert "監査ログ" in page.text and 'href="/-/audit"' in page.text


def test_a_schedule_faster_than_the_floor_is_refused(tmp_path, monkeypatch):
    """Finding 13: schedule files accepted `every = "1s"` full syncs."""
    from archivesync.errors import ConfigError
    from archivesync.worker.schedules import load_schedules

    from .helpers import SAMPLE_CHANNEL

    monkeypatch.delenv("ARCHIVESYNC_MIN_INTERVAL_SECONDS", raising=False)
    head = f'[[jobs]]\nid = "j"\nchannel = "{SAMPLE_CHANNEL}"\nmode = "full"\n'
    for when, shown in [('every = "1s"', "every 1 s"), ('cron = "* * * * *"', "every 60 s")]:
        (tmp_path / "s.toml").write_text(head + when + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="at most once every 5 minutes") as info:
            load_schedules(tmp_path)
        assert shown in str(info.value)
    (tmp_path / "s.toml").write_text(head + 'every = "5m"\n', encoding="utf-8")
    assert [j.id for j in load_schedules(tmp_path)] == ["j"]


# --- what held in the review: kept so, with tests -----------------------------------------


def test_youtube_text_is_never_markup_on_the_console(console):
    """Titles, descriptions, chapters and tags come from whoever uploads: shown as text."""
    from archivesync.db.schema import open_db

    from .helpers import SAMPLE_CHANNEL

    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    db = open_db(console["db"], migrate=False)
    with db.conn:
        db.execute(
            "UPDATE videos SET title = ?, description = ?, tags = ? WHERE id = 'kD7mQx2LrVw'",
            [f"研修 {evil}", f"javascript:alert(3) {evil}", f'["{evil}"]'],
        )
        db.execute("UPDATE chapters SET title = ? WHERE video_id = 'kD7mQx2LrVw'", [evil])
    db.close()
    ds = console["ds"]
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    paths = ["/-/video/kD7mQx2LrVw", "/-/search?q=研修", f"/-/channel/{SAMPLE_CHANNEL}", "/"]
    for path in paths:
        [page] = fetch(ds, ("get", path, {"cookies": staff}))
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        assert 'href="javascript:' not in page.text, path


def test_static_files_are_an_allow_list(console):
    answers = fetch(
        console["ds"],
        ("get", "/-/console/console.js", {}),
        ("get", "/-/console/users.json", {}),
        ("get", "/-/console/..%2F..%2Fusers.py", {}),
    )
    assert [a.status_code for a in answers[:2]] == [200, 404]
    # Datasette normalises the path (a redirect on this site); nothing is served from disk.
    assert answers[2].status_code in (302, 404)
    assert answers[2].headers.get("location", "/").startswith("/")
    assert "import" not in answers[2].text


def test_resync_refuses_other_hosts_and_cross_site_posts(console):
    ds = console["ds"]
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    for text in ("file:///etc/passwd", "https://evil.example/watch?v=kD7mQx2LrVw"):
        _, done = _staff_post(ds, staff, {"kind": "videos", "videos": text})
        assert done.status_code == 400, text
    [page] = fetch(ds, ("get", "/-/resync", {"cookies": staff}))
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    cookies = {**staff, "ds_csrftoken": page.cookies.get("ds_csrftoken")}
    [cross] = fetch(
        ds,
        (
            "post",
            "/-/resync",
            {
                "data": {"kind": "videos", "videos": "kD7mQx2LrVw", "csrftoken": token},
                "cookies": cookies,
                "headers": {"sec-fetch-site": "cross-site"},
            },
        ),
    )
    assert cross.status_code == 403
    assert _queued(console["db"]) == []


def test_the_session_secret_is_random_per_process(index, monkeypatch):
    monkeypatch.delenv("DATASETTE_SECRET", raising=False)
    one, two = make_datasette(index["db"]), make_datasette(index["db"])
    assert one.sign({"a": 1}, "actor") != two.sign({"a": 1}, "actor")


def test_export_never_writes_through_a_planted_symlink(index, tmp_path):
    from click.testing import CliRunner

    from archivesync.cli import cli

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    result = CliRunner().invoke(
        cli, ["export", "--db", str(index["db"]), "--table", "channels", "--output", str(link)]
    )
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me"
    assert not link.is_symlink() and "UCX__Mlqfalo-NO1zAHhhuNw" in link.read_text("utf-8-sig")


def test_an_unknown_name_costs_a_password_hash_too(users_template):
    """Known and unknown names take the same time to refuse: both verify one Argon2 hash."""
    users = users_mod.load(users_template)
    before = users_mod._dummy_hash.cache_info()
    assert users_mod.authenticate(users, "nobody-here", "correct-horse-42") is None
    after = users_mod._dummy_hash.cache_info()
    assert after.hits + after.misses == before.hits + before.misses + 1
    assert users_mod.authenticate(users, "tanaka", "wrong-password") is None
    assert users_mod._dummy_hash.cache_info() == after  # a known name uses its own hash


def test_staff_cancel_a_waiting_request_and_the_trail_says_who(console):
    ds = console["ds"]
    staff = _cookies(_login(ds, "tanaka", "correct-horse-42"))
    analyst = _cookies(_login(ds, "sato", "battery-staple-7"))
    _, queued = _staff_post(ds, staff, {"kind": "videos", "videos": "kD7mQx2LrVw"})
    path = queued.headers["location"]
    [page] = fetch(ds, ("get", path, {"cookies": staff}))
    assert "この依頼を取り消す" in page.text
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    csrf = page.cookies.get("ds_csrftoken")

    def cancel(cookies):
        [answer] = fetch(
            ds,
            (
                "post",
                f"{path}/cancel",
                {"data": {"csrftoken": token}, "cookies": {**cookies, "ds_csrftoken": csrf}},
            ),
        )
        return answer

    assert cancel(analyst).status_code == 403
    assert cancel(staff).status_code == 302
    [row] = _queued(console["db"])
    assert row["status"] == "cancelled" and row["error"] == "cancelled by tanaka"
    assert cancel(staff).status_code == 302  # no longer waiting: nothing changes
    [state] = fetch(ds, ("get", f"{path}.json", {}))
    assert state.json()["finished"] is True and state.json()["status_label"] == "取り消し"
    rows = _audit(console["db"], "resync_cancelled")
    assert [(r["actor"], r["outcome"]) for r in rows] == [
        ("tanaka", "ok"),
        ("tanaka", "not_queued"),
    ]
