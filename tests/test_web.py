"""The web console without a browser: users file, URL forms, access rules, pages and CSV.

Pages are fetched through Datasette's own test client (`datasette.client`), in process; the
browser tests (test_browser.py) drive the same pages in Chromium.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from archivesync.db.schema import open_db
from archivesync.urls import video_ids_from_text
from archivesync.web import users as users_mod
from archivesync.web.app import make_datasette

from .helpers import SAMPLE, SAMPLE_CHANNEL, run_cli, sync
from .web_helpers import cookie_for, fetch, synced_index

# --- video ids from what staff paste -------------------------------------------------------

VID = "kD7mQx2LrVw"


@pytest.mark.parametrize(
    "text",
    [
        VID,
        f"https://www.youtube.com/watch?v={VID}",
        f"https://www.youtube.com/watch?v={VID}&t=41s",
        f"https://m.youtube.com/watch?feature=share&v={VID}",
        f"www.youtube.com/watch?v={VID}",
        f"https://youtu.be/{VID}",
        f"https://youtu.be/{VID}?si=Xy12_abCDefGh",
        f"https://youtu.be/{VID}?si=Xy12_abCDefGh&t=41",
        f"youtu.be/{VID}?t=41",
        f"https://www.youtube.com/shorts/{VID}",
        f"https://youtube.com/shorts/{VID}?feature=share",
        f"https://www.youtube.com/live/{VID}?si=abc",
        f"https://www.youtube.com/embed/{VID}?start=30",
        f"https://www.youtube-nocookie.com/embed/{VID}",
    ],
)
def test_every_url_form_gives_the_video_id(text):
    assert video_ids_from_text(text) == [VID]


def test_several_ids_and_urls_in_order_without_repeats():
    text = f"https://youtu.be/{VID}?t=1\nXa3vN8pQe1s, https://www.youtube.com/watch?v={VID}"
    assert video_ids_from_text(text) == [VID, "Xa3vN8pQe1s"]
    assert video_ids_from_text("  \n ") == []


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/watch?v=kD7mQx2LrVw",
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/playlist?list=PL123",
        "kD7mQx2LrVw?",
        "https://youtu.be/",
    ],
)
def test_what_is_not_a_video_is_named(text):
    with pytest.raises(ValueError, match="not a YouTube video id or URL"):
        video_ids_from_text(f"{VID} {text}")


# --- the users file ------------------------------------------------------------------------


def test_users_add_keeps_only_a_slow_salted_hash(tmp_path):
    path = tmp_path / "users.json"
    assert users_mod.add_user(path, "tanaka", "correct-horse-42") is True
    assert users_mod.add_user(path, "sato", "correct-horse-42", role="analyst") is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "correct-horse-42" not in text
    users = json.loads(text)["users"]
    # Argon2id with its own salt: the same password hashes differently for each user.
    assert users["tanaka"]["hash"].startswith("$argon2id$")
    assert users["tanaka"]["hash"] != users["sato"]["hash"]
    loaded = users_mod.load(path)
    assert users_mod.authenticate(loaded, "tanaka", "correct-horse-42") == {
        "id": "tanaka",
        "role": "staff",
        "name": "tanaka",
    }
    assert users_mod.authenticate(loaded, "sato", "correct-horse-42")["role"] == "analyst"
    assert users_mod.authenticate(loaded, "tanaka", "wrong-password") is None
    assert users_mod.authenticate(loaded, "nobody", "correct-horse-42") is None
    assert users_mod.add_user(path, "tanaka", "a-new-password") is False
    assert users_mod.authenticate(users_mod.load(path), "tanaka", "correct-horse-42") is None
    users_mod.remove_user(path, "tanaka")
    assert set(users_mod.load(path)) == {"sato"}


@pytest.mark.parametrize(
    "name, password, message",
    [
        ("tanaka", "short", "too short"),
        ("has space", "long-enough-1", "invalid user name"),
        ("", "long-enough-1", "invalid user name"),
    ],
)
def test_bad_names_and_passwords_are_refused(tmp_path, name, password, message):
    path = tmp_path / "users.json"
    with pytest.raises(users_mod.UsersFileError, match=message):
        users_mod.add_user(path, name, password)
    assert not path.exists()


def test_users_commands_read_the_password_from_stdin(tmp_path):
    path = tmp_path / "users.json"
    env = {**os.environ, "PYTHONPATH": str(SAMPLE.parents[1] / "src")}
    done = run_cli(["users", "add", "--file", str(path), "yamada"], env, input="pass-word-99\n")
    assert done.returncode == 0, done.stderr
    assert "pass-word-99" not in done.stdout + done.stderr
    assert users_mod.authenticate(users_mod.load(path), "yamada", "pass-word-99")
    done = run_cli(["users", "add", "--file", str(path), "yamada"], env, input="short\n")
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: password too short: at least 8 characters"
    done = run_cli(["users", "remove", "--file", str(path), "nobody"], env)
    assert done.returncode == 1 and "no user 'nobody'" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli(["users", "remove", "--file", str(path), "yamada"], env)
    assert done.returncode == 0 and users_mod.load(path) == {}
    path.write_text("not json", encoding="utf-8")
    done = run_cli(["users", "remove", "--file", str(path), "yamada"], env)
    assert done.returncode == 1 and "cannot read users file" in done.stderr


# --- pages through Datasette's client ------------------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return synced_index(tmp_path_factory.mktemp("webpages"))


PAGES = [
    "/",
    "/-/search?q=人材",
    "/-/search?q=オープンデータ&in=chapters",
    f"/-/video/{VID}",
    f"/-/channel/{SAMPLE_CHANNEL}",
    "/-/requests",
]


def test_reading_pages_are_japanese_and_open_by_default(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    for path, response in zip(PAGES, fetch(ds, *[("get", p, {}) for p in PAGES]), strict=True):
        assert response.status_code == 200, path
        assert '<html lang="ja">' in response.text, path
        assert "cdn" not in response.text.lower() and '<script src="http' not in response.text


def test_without_a_users_file_the_write_actions_are_absent(index):
    ds = make_datasette(index["db"])
    home, form, post, login = fetch(
        ds,
        ("get", "/", {}),
        ("get", "/-/resync", {}),
        ("post", "/-/resync", {"data": {"kind": "videos", "videos": VID}}),
        ("get", "/-/login", {}),
    )
    assert "/-/resync" not in home.text and "ログイン" not in home.text
    assert form.status_code == 404 and post.status_code == 404
    assert login.status_code == 404


def test_read_login_closes_every_page_datasettes_too(index):
    ds = make_datasette(index["db"], users_file=index["users"], read_login=True)
    paths = ["/", "/-/search?q=DX", f"/-/video/{VID}", "/archive", "/archive/videos.json"]
    for path, response in zip(paths, fetch(ds, *[("get", p, {}) for p in paths]), strict=True):
        assert response.status_code in (302, 403), path
        if response.status_code == 302:
            assert response.headers["location"].startswith("/-/login"), path
    answers = fetch(ds, *[("get", p, {"cookies": cookie_for(ds, "sato")}) for p in paths])
    assert [r.status_code for r in answers] == [200] * len(paths)
    # A removed user's cookie stops working at once.
    answers = fetch(ds, ("get", "/", {"cookies": cookie_for(ds, "someone-removed")}))
    assert answers[0].status_code == 302


def test_staff_queue_a_resync_through_the_same_queue_as_the_cli(index, tmp_path):
    ds = make_datasette(index["db"], users_file=index["users"])
    staff = cookie_for(ds, "tanaka")
    analyst = cookie_for(ds, "sato")
    form = {"kind": "videos", "videos": f"https://youtu.be/{VID}?si=abc&t=41"}
    # asgi-csrf: a POST carrying cookies needs the token from the ds_csrftoken cookie.
    token_page, *_ = fetch(ds, ("get", "/-/resync", {"cookies": staff}))
    assert token_page.status_code == 200
    csrf = token_page.cookies["ds_csrftoken"]
    token = token_page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    no_token, as_analyst, bad, ok = fetch(
        ds,
        ("post", "/-/resync", {"data": form, "cookies": {**staff, "ds_csrftoken": csrf}}),
        (
            "post",
            "/-/resync",
            {"data": {**form, "csrftoken": token}, "cookies": {**analyst, "ds_csrftoken": csrf}},
        ),
        (
            "post",
            "/-/resync",
            {
                "data": {"kind": "videos", "videos": "https://example.com/x", "csrftoken": token},
                "cookies": {**staff, "ds_csrftoken": csrf},
            },
        ),
        (
            "post",
            "/-/resync",
            {"data": {**form, "csrftoken": token}, "cookies": {**staff, "ds_csrftoken": csrf}},
        ),
    )
    assert no_token.status_code == 403
    assert as_analyst.status_code == 403
    assert bad.status_code == 400 and "YouTube の URL でもありません" in bad.text
    assert ok.status_code == 302
    request_id = int(ok.headers["location"].rsplit("/", 1)[1])
    db = open_db(index["db"], migrate=False)
    try:
        row = db["sync_requests"].get(request_id)
    finally:
        db.close()
    assert (row["requested_by"], row["target_kind"], row["target_id"], row["mode"]) == (
        "tanaka",
        "videos",
        VID,
        "videos",
    )
    assert row["status"] == "queued"
    [state] = fetch(ds, ("get", f"/-/requests/{request_id}.json", {}))
    assert state.json()["position"] >= 1 and state.json()["finished"] is False


def test_wrong_password_sets_no_session(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    wrong, right = fetch(
        ds,
        ("post", "/-/login", {"data": {"username": "tanaka", "password": "nope-nope-nope"}}),
        ("post", "/-/login", {"data": {"username": "tanaka", "password": "correct-horse-42"}}),
    )
    assert wrong.status_code == 401 and "ds_actor" not in wrong.cookies
    assert right.status_code == 302 and "ds_actor" in right.cookies


def test_csv_downloads_carry_a_bom(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    answers = fetch(
        ds,
        *[
            ("get", p, {})
            for p in (
                "/-/search?q=オープンデータ&format=csv",
                f"/-/video/{VID}?format=csv",
                f"/-/channel/{SAMPLE_CHANNEL}?format=csv",
                "/-/requests?format=csv",
                "/archive/chapter_index.csvbom?_size=max",
            )
        ],
    )
    for response in answers:
        assert response.status_code == 200
        assert response.content.startswith("\ufeff".encode())
    assert "データ利活用とオープンデータ" in answers[0].content.decode("utf-8-sig")
    assert "38:30" in answers[4].content.decode("utf-8-sig") or "2310" in answers[4].text


def test_canned_queries_hide_their_sql(index):
    ds = make_datasette(index["db"])
    [page] = fetch(ds, ("get", "/archive/search?q=人材", {}))
    assert page.status_code == 200
    # The SQL is not shown (Datasette keeps it only in a "show SQL" link).
    assert '<textarea id="sql-editor"' not in page.text and "<pre" not in page.text
    assert "経験者が語る" in page.text


# --- charts and Japanese formatting (pure) -------------------------------------------------


def test_retention_chart_draws_the_curve_and_a_line_per_chapter():
    from archivesync.web import charts

    points = [(i / 100, 1.0 - i / 200) for i in range(101)]
    chapters = [(0, "開会"), (600, "基調講演"), (1800, "質疑応答")]
    svg = str(charts.retention_chart("視聴維持率", points, 3600, chapters))
    assert svg.count('class="chapter"') == 3
    assert svg.count("<polyline") == 1
    # A chapter line sits where its start falls on the time axis: 1800 s of 3600 s is halfway.
    x_mid = charts.LEFT + (charts.WIDTH - charts.LEFT - charts.RIGHT) * 0.5
    assert f'x1="{x_mid:.1f}"' in svg
    assert "<title>質疑応答</title>" in svg
    assert "データがありません" in str(charts.retention_chart("x", [], 3600, chapters))


def test_chart_text_is_escaped():
    from datetime import date

    from archivesync.web import charts

    svg = str(charts.bar_chart("<script>", ["<b>"], [3]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    line = str(charts.line_chart("views", [(date(2024, 1, 1), 10), (date(2024, 2, 1), 30)]))
    assert line.count("<circle") == 2 and "2024-02-01" in line


@pytest.mark.parametrize(
    "value, shown",
    [
        ("2024-03-31T15:00:00Z", "2024-04-01 00:00"),  # midnight in Tokyo, the new fiscal year
        ("2024-01-01T00:00:00Z", "2024-01-01 09:00"),
        (None, "—"),
    ],
)
def test_times_are_shown_in_tokyo(value, shown):
    from archivesync.web.text import jst

    assert jst(value) == shown


@pytest.mark.parametrize(
    "seconds, hms, clock",
    [(0, "0:00:00", "0:00"), (2472, "0:41:12", "41:12"), (5001, "1:23:21", "1:23:21")],
)
def test_durations(seconds, hms, clock):
    from archivesync.web import text

    assert text.hms(seconds) == hms and text.clock(seconds) == clock


@pytest.mark.parametrize(
    "form, fields",
    [
        (
            {"kind": "channel", "channel_id": SAMPLE_CHANNEL, "mode": "full"},
            ("channel", SAMPLE_CHANNEL, "full"),
        ),
        (
            {"kind": "channel", "channel_id": SAMPLE_CHANNEL, "mode": "incremental"},
            ("channel", SAMPLE_CHANNEL, "incremental"),
        ),
        (
            {"kind": "playlist", "playlist_id": "PL-jXgjqpvR9sXa13UED7jXqpMmjB14Y4f"},
            ("playlist", "PL-jXgjqpvR9sXa13UED7jXqpMmjB14Y4f", "playlist"),
        ),
        (
            {"kind": "videos", "videos": f"https://www.youtube.com/shorts/{VID}\nXa3vN8pQe1s"},
            ("videos", f"{VID},Xa3vN8pQe1s", "videos"),
        ),
    ],
)
def test_every_kind_of_resync_form_queues_its_target(index, form, fields):
    ds = make_datasette(index["db"], users_file=index["users"])
    staff = cookie_for(ds, "tanaka")
    [page] = fetch(ds, ("get", "/-/resync", {"cookies": staff}))
    csrf = page.cookies["ds_csrftoken"]
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    [done] = fetch(
        ds,
        (
            "post",
            "/-/resync",
            {"data": {**form, "csrftoken": token}, "cookies": {**staff, "ds_csrftoken": csrf}},
        ),
    )
    assert done.status_code == 302, done.text
    request_id = int(done.headers["location"].rsplit("/", 1)[1])
    db = open_db(index["db"], migrate=False)
    try:
        row = db["sync_requests"].get(request_id)
    finally:
        db.close()
    assert (row["target_kind"], row["target_id"], row["mode"]) == fields


def test_search_lists_a_video_once_with_its_title_and_transcript_hits(tmp_path):
    """The core search returns a row per transcript cue; the console groups them by video."""
    from archivesync.emulator import Emulator, load_dataset
    from archivesync.search.results import search_results
    from archivesync.transcripts.store import import_transcript

    db_path = tmp_path / "archive.db"
    with Emulator(load_dataset(SAMPLE)) as emu:
        assert sync(db_path, emu, full=True).status == "ok"
    srt = (
        "1\n00:41:12,000 --> 00:41:15,000\n人材の育成は研修だけでは\n\n"
        "2\n00:41:15,000 --> 00:41:18,000\n終わりません。人材は現場で育ちます\n"
    )
    db = open_db(db_path)
    with db.conn:
        import_transcript(db, VID, "talk.srt", srt, "srt", "2026-11-28T00:00:00Z")
    results = search_results(db, "人材")
    ids = [r["video_id"] for r in results]
    assert len(ids) == len(set(ids)), ids
    video = next(r for r in results if r["video_id"] == VID)
    spoken = [h for h in video["hits"] if h["match_kind"] == "transcript"]
    # Each cue that holds the word is a hit, at its own second.
    assert [h["start_seconds"] for h in spoken] == [2472, 2475]
    only_other = search_results(db, "研修だけ", where=("other",))
    assert only_other == []
    in_transcripts = search_results(db, "研修だけ", where=("transcripts",))
    assert [r["video_id"] for r in in_transcripts] == [VID]
