"""The web console in a real Chromium (Debian's, through Playwright) against `archivesync
serve` on an index synced from the emulator, with the daemon running.

One browser, one server and one daemon for the whole module (tests/browser_fixtures.py, which
also says when the module is skipped and where screenshots go). Accessibility (axe-core, the
keyboard, 375 px) is checked in test_accessibility.py.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archivesync.demo import ROUNDTABLE
from archivesync.web.users import add_user

from .browser import VIEWPORT, login, shot, skip_without_chromium
from .browser_fixtures import ANALYST, ANALYST_PASSWORD, LECTURE, STAFF, STAFF_PASSWORD
from .helpers import SAMPLE_CHANNEL

skip_without_chromium()

# A lecture of the sample channel (with a transcript) and a chapter of it: オープンデータ
# starts at 38:30.
OPEN_DATA_SECOND = 2310


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport=VIEWPORT, locale="ja-JP", timezone_id="Asia/Tokyo")
    # Hermetic: nothing leaves loopback. YouTube links are answered here, so a click on a
    # search hit shows where it would have gone.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), _outside)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def _outside(route):
    if "youtube.com" in route.request.url:
        route.fulfill(status=200, content_type="text/html", body="<title>youtube</title>")
    else:
        route.abort()


def requests_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT id, requested_by, target_kind, target_id FROM sync_requests"
        ).fetchall()
    finally:
        conn.close()


# --- staff ---------------------------------------------------------------------------------


def test_no_write_action_without_login(page, site, shots):
    pg = page
    pg.goto(site["url"] + "/")
    assert pg.get_attribute("html", "lang") == "ja"
    assert pg.locator("a[href='/-/resync']").count() == 0, "resync link shown to a visitor"
    assert pg.locator("form[action='/-/resync']").count() == 0
    shot(pg, shots, "overview-visitor")
    # Typing the address leads to the login page, not to the form.
    pg.goto(site["url"] + "/-/resync")
    assert "/-/login" in pg.url
    assert pg.locator("form[action='/-/resync']").count() == 0
    shot(pg, shots, "login")
    # A POST without a session is refused, and nothing is queued.
    before = requests_rows(site["db"])
    response = pg.request.post(
        site["url"] + "/-/resync", form={"kind": "videos", "videos": "kD7mQx2LrVw"}
    )
    assert response.status == 403
    assert requests_rows(site["db"]) == before


def test_wrong_password_is_refused(page, site):
    login(page, site, STAFF, "not-the-password")
    assert "/-/login" in page.url
    assert "パスワードが違います" in page.inner_text("[role=alert]")
    assert "ds_actor" not in {c["name"] for c in page.context.cookies()}
    page.goto(site["url"] + "/-/resync")
    assert "/-/login" in page.url


def test_post_without_csrf_token_is_refused(page, site):
    login(page, site, STAFF, STAFF_PASSWORD)
    assert page.locator("a[href='/-/resync']").count() == 1
    before = requests_rows(site["db"])
    # Logged in (the session cookie is sent) but without the form's csrftoken field.
    response = page.request.post(
        site["url"] + "/-/resync", form={"kind": "videos", "videos": "kD7mQx2LrVw"}
    )
    assert response.status == 403
    assert requests_rows(site["db"]) == before


def test_staff_resync_of_a_pasted_youtu_be_url_is_followed_to_ok(page, site, shots):
    pg = page
    login(pg, site, STAFF, STAFF_PASSWORD)
    assert pg.url.rstrip("/") == site["url"]
    assert STAFF in pg.inner_text("header")
    shot(pg, shots, "overview")
    pg.click("a[href='/-/resync']")
    pg.fill("textarea[name=videos]", "https://youtu.be/kD7mQx2LrVw?si=Xy12_abCDefGh&t=41")
    shot(pg, shots, "resync-form")
    pg.click("form[action='/-/resync'] button[type=submit]")
    pg.wait_for_url(re.compile(r"/-/requests/\d+$"))
    request_id = int(pg.url.rsplit("/", 1)[1])
    # Marked page: if the outcome arrived by a reload, the mark would be gone.
    pg.evaluate("window.__stillHere = true")
    pg.wait_for_selector("#outcome[data-outcome=ok]", timeout=30_000)
    assert pg.evaluate("window.__stillHere") is True
    assert pg.inner_text("#status") == "完了"
    shot(pg, shots, "request-done")
    assert (request_id, STAFF, "videos", "kD7mQx2LrVw") in requests_rows(site["db"])
    conn = sqlite3.connect(f"file:{site['db']}?mode=ro", uri=True)
    try:
        status, run_id = conn.execute(
            "SELECT status, run_id FROM sync_requests WHERE id = ?", [request_id]
        ).fetchone()
        run = conn.execute(
            "SELECT status, trigger FROM sync_runs WHERE id = ?", [run_id]
        ).fetchone()
    finally:
        conn.close()
    assert (status, run) == ("done", ("ok", "manual"))
    pg.goto(site["url"] + "/-/requests")
    row = pg.locator(f"tr:has(a[href='/-/requests/{request_id}'])")
    assert STAFF in row.inner_text() and "完了" in row.inner_text()
    shot(pg, shots, "requests")


def test_analyst_cannot_queue_a_resync(page, site):
    login(page, site, ANALYST, ANALYST_PASSWORD)
    assert page.locator("a[href='/-/resync']").count() == 0
    response = page.goto(site["url"] + "/-/resync")
    assert response.status == 403


# --- analysts ------------------------------------------------------------------------------


def test_japanese_search_opens_the_right_second(page, site, shots):
    pg = page
    pg.goto(site["url"] + "/-/search")
    pg.fill("input[name=q]", "オープンデータ")
    pg.press("input[name=q]", "Enter")
    pg.wait_for_selector("ol.results li.result")
    result = pg.locator(f"li.result[data-video={LECTURE}]")
    hit = result.locator("li.hit-chapter a.time").first
    assert hit.inner_text() == "38:30"
    shot(pg, shots, "search")
    hit.click()
    pg.wait_for_url(re.compile("youtube"))
    assert f"v={LECTURE}" in pg.url and pg.url.endswith(f"t={OPEN_DATA_SECOND}s")


def test_video_page_has_chapters_and_charts(page, site, shots):
    pg = page
    pg.goto(site["url"] + f"/-/video/{LECTURE}")
    assert pg.get_attribute("html", "lang") == "ja"
    chapters = pg.locator("ol.chapters li")
    assert chapters.count() >= 5
    link = pg.locator(f"ol.chapters a[href$='t={OPEN_DATA_SECOND}s']")
    assert link.inner_text() == "38:30"
    svg = pg.locator("#views-chart svg.chart")
    # One sync, one observation: drawn as one bar carrying its figure, not a dot on empty axes.
    assert svg.count() == 1 and svg.locator("polyline.line").count() == 0
    assert svg.locator("rect.bar").count() == 1 and svg.locator("text.figure").count() == 1
    assert "1 件のみ" in pg.inner_text("#views-chart figcaption")
    box = svg.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert pg.locator(f"a[href='/archive/chapters?video_id={LECTURE}']").count() == 1
    shot(pg, shots, "video")
    csv = pg.request.get(site["url"] + f"/-/video/{LECTURE}?format=csv")
    assert csv.body().startswith("\ufeff".encode()) and "データ利活用" in csv.text()


def test_video_page_draws_daily_views_and_retention_with_chapter_lines(page, site, shots):
    pg = page
    pg.goto(site["url"] + f"/-/video/{ROUNDTABLE}")
    chapters = pg.locator("ol.chapters li").count()
    assert chapters >= 2
    assert pg.locator("#daily-chart svg rect.bar").count() > 0
    retention = pg.locator("#retention-chart svg")
    assert retention.locator("polyline.line").count() == 1
    assert retention.locator("line.chapter").count() == chapters
    pg.locator("#retention-chart").scroll_into_view_if_needed()
    shot(pg, shots, "video-retention")


def test_channel_page_and_switcher(page, site, shots):
    pg = page
    pg.goto(site["url"] + "/-/channel")
    assert pg.url.endswith(f"/-/channel/{SAMPLE_CHANNEL}")
    assert pg.locator("select[name=channel] option").count() >= 1
    assert pg.locator("#uploads-chart svg rect.bar").count() >= 1
    assert pg.locator("#views-chart svg rect.bar").count() >= 1  # from channel_daily_metrics
    shot(pg, shots, "channel")


def test_a_transcript_hit_opens_the_video_page_at_its_cue_highlighted(page, site, shots):
    pg = page
    pg.goto(site["url"] + "/-/search?q=研修だけ&in=transcripts")
    pg.click(f"li.result[data-video={LECTURE}] a.in-page")
    pg.wait_for_url(re.compile(rf"/-/video/{LECTURE}#t=2472$"))
    cue = pg.locator("ol.transcript li:target")
    assert cue.count() == 1 and "研修だけでは" in cue.inner_text()
    # Highlighted (not the page's white) and scrolled into view.
    background = cue.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    box = cue.bounding_box()
    assert 0 <= box["y"] < VIEWPORT["height"]
    shot(pg, shots, "video-cue")


def test_overview_shows_internals_to_staff_only_behind_a_toggle(page, site):
    pg = page
    login(pg, site, ANALYST, ANALYST_PASSWORD)
    text = pg.inner_text("main")
    assert "稼働中" in text
    for internal in ("プロセス ID", "pid", "ジョブ", "nightly", "--replicate-to"):
        assert internal not in text and internal not in pg.content(), internal
    pg.context.clear_cookies()
    login(pg, site, STAFF, STAFF_PASSWORD)
    details = pg.locator("details.staff-details").first
    assert details.get_attribute("open") is None
    assert not pg.locator("details.staff-details p").first.is_visible()
    details.locator("summary").click()
    assert "プロセス ID" in details.inner_text()
    assert "nightly" in pg.inner_text("main")  # the schedule's job id, for staff
    # The quota's reset time stays on one line on a phone.
    pg.set_viewport_size({"width": 375, "height": 812})
    reset = pg.locator("span.nowrap", has_text=re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    assert reset.count() >= 1
    lines = reset.first.evaluate("e => e.getClientRects().length")
    assert lines == 1


# --- Datasette's own pages -----------------------------------------------------------------


def test_datasette_pages_are_readable(page, site, shots):
    pg = page
    pg.goto(site["url"] + "/archive")
    assert pg.inner_text("h1").strip() != "archive"
    assert pg.locator("form.archivesync-search input[name=q]").is_visible()
    shot(pg, shots, "datasette-home")
    pg.fill("form.archivesync-search input[name=q]", "人材")
    pg.press("form.archivesync-search input[name=q]", "Enter")
    pg.wait_for_url(re.compile(r"/archive/search\?"))
    # No SQL above the form: the search box and the rows are in the first screen.
    assert pg.locator("textarea#sql-editor").count() == 0
    first_row = pg.locator("table.rows-and-columns tbody tr").first
    assert first_row.bounding_box()["y"] < VIEWPORT["height"]
    shot(pg, shots, "datasette-search")
    pg.goto(site["url"] + "/archive/video_overview")
    details = pg.locator("details.column-descriptions-box")
    assert details.count() == 1 and details.get_attribute("open") is None
    assert pg.locator("table.rows-and-columns").bounding_box()["y"] < VIEWPORT["height"] / 2
    title_cell = pg.locator("table.rows-and-columns td.col-title").first
    assert title_cell.bounding_box()["width"] > 250, "titles are crushed"
    shot(pg, shots, "datasette-video-overview")
    csv = pg.request.get(site["url"] + "/archive/video_overview.csvbom")
    assert csv.status == 200 and csv.body().startswith("\ufeff".encode())
    assert "経験者が語る" in csv.body().decode("utf-8-sig")


def test_the_content_security_policy_breaks_nothing(page, site):
    """No inline script is allowed (issue 19): the console's and Datasette's pages still work,
    and Chromium reports no CSP violation on them."""
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    login(page, site, STAFF, STAFF_PASSWORD)
    page.wait_for_url(site["url"] + "/")
    console = ["/", "/-/resync", "/-/search?q=DX", "/-/requests", "/-/audit", "/-/users"]
    for path in [*console, "/-/password", "/archive", "/archive/videos", "/archive?sql=select+1"]:
        response = page.goto(site["url"] + path)
        assert response.status == 200, path
    # Datasette's SQL editor (CodeMirror, started by an inline script allowed by its hash).
    assert page.locator(".CodeMirror").count() == 1
    # The resync form's script (console.js): typing a URL selects the videos choice.
    page.goto(site["url"] + "/-/resync")
    page.check("input[name=kind][value=channel]")
    page.fill("textarea[name=videos]", "https://youtu.be/kD7mQx2LrVw")
    assert page.is_checked("input[name=kind][value=videos]")
    assert violations == []


# --- login, sessions, the audit trail, headers (issue 19.2, 19.3) --------------------------
# Each test signs in as a person of its own (added to the site's users file here), so that a
# lockout or an aged session disturbs no other test of the module.


def _audit_rows(db: Path, *people: str) -> list[tuple]:
    """(action, actor, target, outcome) of the audit rows naming any of `people`, oldest first."""
    marks = ",".join("?" * len(people))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT action, actor, target, outcome FROM audit_log "
            f"WHERE actor IN ({marks}) OR target IN ({marks}) ORDER BY id",
            [*people, *people],
        ).fetchall()
    finally:
        conn.close()


def test_five_wrong_passwords_lock_the_name_even_for_the_right_one(page, site, shots):
    add_user(site["users"], "lock.test", "lock-test-pass-1", role="analyst")
    for attempt in range(1, 6):
        login(page, site, "lock.test", f"wrong-password-{attempt}")
        alert = page.inner_text("[role=alert]")
        assert ("ロックされています" in alert) is (attempt == 5), (attempt, alert)
    login(page, site, "lock.test", "lock-test-pass-1")
    assert "/-/login" in page.url
    alert = page.inner_text("[role=alert]")
    # Until when, in Tokyo time (15 minutes after the 5th failure).
    until = re.search(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) まで", alert)
    assert until and "ロックされています" in alert and "もう一度お試しください" in alert, alert
    assert page.input_value("input[name=username]") == "lock.test"
    assert page.input_value("input[name=password]") == ""
    assert "ds_actor" not in {c["name"] for c in page.context.cookies()}
    shot(page, shots, "login-locked")
    outcomes = [r[3] for r in _audit_rows(site["db"], "lock.test")]
    assert outcomes == ["bad_password"] * 5 + ["locked"]


def test_an_idle_session_ends_on_the_next_page_with_a_japanese_message(page, site):
    add_user(site["users"], "idle.test", "idle-test-pass-1")
    login(page, site, "idle.test", "idle-test-pass-1")
    page.wait_for_url(site["url"] + "/")
    assert page.locator("a[href='/-/resync']").count() == 1
    # The session was last seen 31 minutes ago (the server's idle time is 30 minutes).
    aged = (datetime.now(UTC) - timedelta(minutes=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn = sqlite3.connect(site["db"], timeout=10)
    with conn:
        changed = conn.execute(
            "UPDATE sessions SET last_seen_at = ? WHERE user = 'idle.test' AND ended_at IS NULL",
            [aged],
        ).rowcount
    conn.close()
    assert changed == 1
    page.goto(site["url"] + "/-/resync")
    assert re.search(r"/-/login\?next=%2F-%2Fresync&ended=idle$", page.url), page.url
    assert "しばらく操作がなかったため" in page.inner_text("main [role=status]")
    assert "ds_actor" not in {c["name"] for c in page.context.cookies()}
    assert _audit_rows(site["db"], "idle.test")[-1] == (
        "session_expired",
        "idle.test",
        "idle.test",
        "idle",
    )
    # Signing in again leads back to the page asked for.
    page.fill("input[name=username]", "idle.test")
    page.fill("input[name=password]", "idle-test-pass-1")
    page.click("form.card button[type=submit]")
    page.wait_for_url(site["url"] + "/-/resync")


def test_every_action_in_the_browser_lands_in_the_audit_trail(page, site, shots):
    pg, emu = page, site["emulator"]
    me, other = "audit.staff", "audit.new"
    add_user(site["users"], me, "audit-staff-pass-1", display_name="監査 花子")
    login(pg, site, me, "wrong-password")
    login(pg, site, me, "audit-staff-pass-1")
    pg.wait_for_url(site["url"] + "/")
    # Two resyncs. The API answers slowly, so the first (a full sync: many calls) runs for
    # long and the second waits behind it: it can be cancelled from its page.
    emu.latency_ms = 3000
    try:
        pg.goto(site["url"] + "/-/resync")
        pg.check("input[name=kind][value=channel]")
        pg.check("input[name=mode][value=full]")
        pg.click("form[action='/-/resync'] button[type=submit]")
        pg.wait_for_url(re.compile(r"/-/requests/\d+$"))
        pg.goto(site["url"] + "/-/resync")
        pg.fill("textarea[name=videos]", "bR5tY2uHc9k")
        pg.click("form[action='/-/resync'] button[type=submit]")
        pg.wait_for_url(re.compile(r"/-/requests/\d+$"))
        pg.click("#cancel button")
        pg.wait_for_selector("#status:has-text('取り消し')")
    finally:
        emu.latency_ms = 0
    # The users page: add someone, reset their password, remove them.
    pg.click("header nav a[href='/-/users']")
    pg.fill("input[name=id]", other)
    pg.fill("input[name=display_name]", "新人 太郎")
    pg.check("input[name=role][value=analyst]")
    pg.fill("input[name=password]", "audit-new-pass-1")
    pg.click("form[action='/-/users'] button[type=submit]")
    assert f"{other} を追加しました" in pg.inner_text("[role=status]")
    assert "新人 太郎" in pg.inner_text("table")
    shot(pg, shots, "users")
    pg.click(f"a[href='/-/users/{other}']")
    pg.fill("input[name=password]", "audit-new-pass-2")
    pg.click("button:has-text('パスワードを再設定する')")
    assert "パスワードを再設定しました" in pg.inner_text("[role=status]")
    shot(pg, shots, "user")
    pg.click(f"button:has-text('新人 太郎 ({other}) を削除する')")
    pg.wait_for_url(re.compile(r"/-/users\?done=removed"))
    assert other not in pg.inner_text("table")
    # One's own password, from the header's link.
    pg.click("header a[href='/-/password']")
    pg.fill("input[name=current_password]", "audit-staff-pass-1")
    pg.fill("input[name=new_password]", "audit-staff-pass-2")
    pg.fill("input[name=confirm_password]", "audit-staff-pass-2")
    shot(pg, shots, "password")
    pg.click("form[action='/-/password'] button[type=submit]")
    assert "パスワードを変更しました" in pg.inner_text("[role=status]")
    pg.click("header button:has-text('ログアウト')")
    pg.wait_for_url(site["url"] + "/")
    rows = [r[:3] for r in _audit_rows(site["db"], me, other)]
    assert [r for r in rows if r[0].startswith("resync")] == [
        ("resync_queued", me, rows[2][2]),
        ("resync_queued", me, rows[3][2]),
        ("resync_cancelled", me, rows[3][2]),
    ]
    assert [r for r in rows if not r[0].startswith("resync")] == [
        ("login_failed", None, me),
        ("login", me, me),
        ("user_added", me, other),
        ("password_changed", me, other),
        ("user_removed", me, other),
        ("password_changed", me, me),
        ("logout", me, me),
    ]
    # Staff read it all on the audit page, in Japanese, with the display name.
    login(pg, site, STAFF, STAFF_PASSWORD)
    pg.goto(site["url"] + f"/-/audit?person={me}")
    table = pg.inner_text("table")
    labels = ["ログイン失敗", "ログイン", "再同期の依頼", "再同期の取り消し", "ユーザー追加"]
    labels += ["パスワード変更", "ユーザー削除", "ログアウト", "監査 花子 (audit.staff)"]
    for label in labels:
        assert label in table, label
    assert pg.locator("table tbody tr").count() == len(rows)
    shot(pg, shots, "audit")


def test_headers_and_cookie_flags_as_the_browser_sees_them(browser, site):
    context = browser.new_context(viewport=VIEWPORT, locale="ja-JP")
    pg = context.new_page()
    try:
        for path in ("/-/login", "/", "/archive"):
            headers = pg.goto(site["url"] + path).all_headers()
            csp = dict(
                part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
            )
            assert "'unsafe-inline'" not in csp["script-src"], path
            assert csp["frame-ancestors"] == "'none'", path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "same-origin", path
        login(pg, site, STAFF, STAFF_PASSWORD)
        pg.wait_for_url(site["url"] + "/")
        [cookie] = [c for c in context.cookies() if c["name"] == "ds_actor"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
        assert pg.evaluate("document.cookie").find("ds_actor") == -1  # no script reads it
    finally:
        context.close()
    # Behind a proxy on this machine (uvicorn trusts 127.0.0.1) that says the browser came
    # over HTTPS, the session cookie is Secure.
    context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
    pg = context.new_page()
    try:
        pg.goto(site["url"] + "/-/login")
        pg.fill("input[name=username]", STAFF)
        pg.fill("input[name=password]", STAFF_PASSWORD)
        with pg.expect_response(lambda r: r.url.endswith("/-/login") and r.status == 302) as r:
            pg.click("form.card button[type=submit]")
        set_cookie = r.value.all_headers()["set-cookie"]
        assert "ds_actor=" in set_cookie and "; Secure" in set_cookie, set_cookie
        assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie.replace("Lax", "lax")
        # Chromium keeps a Secure cookie from 127.0.0.1 (a loopback origin counts as secure).
        [cookie] = [c for c in context.cookies() if c["name"] == "ds_actor"]
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    finally:
        context.close()
