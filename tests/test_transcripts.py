"""Transcripts end to end: the real google-auth and google-api-python-client against the
emulator's captions.list / captions.download, the budget, track states, import, and search."""

from __future__ import annotations

import json
import sqlite3

import pytest

from archivesync.db.schema import open_db, open_readonly
from archivesync.emulator import Emulator, load_dataset
from archivesync.emulator.captions import Captions, load_captions
from archivesync.errors import AuthError, TranscriptParseError
from archivesync.reporting import run_summary
from archivesync.search.query import search
from archivesync.sync.run import Settings
from archivesync.transcripts.cues import parse, parse_vtt
from archivesync.transcripts.sync import TranscriptOptions, run_transcripts
from tests.helpers import REPO, SAMPLE, cli_env, run_cli, sync
from tests.oauth_helpers import refresh_token_of, write_token_file

# Re-checks and the quota day are decided by date: also run a year ahead (make test).
pytestmark = pytest.mark.dates

TRANSCRIPTS = REPO / "data" / "sample_transcripts.json"
CAPTIONED = {"kD7mQx2LrVw", "Ns9wE3hTq6b", "Gf1pR6yLk4x", "Lm0qW4zJd7g"}
PUBLIC_VIDEOS = 10  # the sample's public, non-upcoming videos: the ones worth listing

# The labelled set: query -> every (video, second) a person finds it at in the sample
# transcripts. Split phrases (ASR broke the line mid-phrase) are marked.
LABELLED = {
    "ガバメントクラウド": {("Ns9wE3hTq6b", 1665.0), ("Gf1pR6yLk4x", 1060.0)},
    "基幹業務システム": {("Ns9wE3hTq6b", 1665.0), ("Gf1pR6yLk4x", 210.0)},  # split in Gf1
    "標準準拠システム": {("Gf1pR6yLk4x", 552.0)},  # split
    "心理的安全性": {("kD7mQx2LrVw", 2000.0), ("Lm0qW4zJd7g", 240.0)},  # split in Lm0
    "標準オープンデータ": {("Gf1pR6yLk4x", 2460.0)},  # split
    "書かない窓口": {("Ns9wE3hTq6b", 1985.0)},
    "CIO補佐官": {("kD7mQx2LrVw", 2530.0), ("Ns9wE3hTq6b", 3135.0)},
    "前例踏襲": {("kD7mQx2LrVw", 1775.0), ("Lm0qW4zJd7g", 130.0)},
    "共同調達": {("kD7mQx2LrVw", 1350.0)},
    "api": {("Gf1pR6yLk4x", 2910.0)},
    "使ってもらう": {("Gf1pR6yLk4x", 3530.0)},  # split
    "補助金": {("Gf1pR6yLk4x", 1568.0)},
    "量子コンピュータ": set(),
}


@pytest.fixture
def emu():
    with Emulator(load_dataset(SAMPLE), captions=load_captions(TRANSCRIPTS)) as server:
        yield server


@pytest.fixture
def synced(db_path, emu):
    assert sync(db_path, emu).exit_code == 0
    return db_path


@pytest.fixture
def token(tmp_path, emu):
    return write_token_file(tmp_path / "token.json", emu)


def run(db_path, emu, token, **options):
    settings = options.pop("settings", None)
    return run_transcripts(
        db_path,
        "UCX__Mlqfalo-NO1zAHhhuNw",
        token_file=token,
        endpoint=emu.url,
        options=TranscriptOptions(**options),
        settings=settings,
    )


def caption_units(emu) -> int:
    return sum(r["units"] for r in emu.requests if r["endpoint"] == "captions")


def transcript_hits(db, query):
    return {
        (h["video_id"], h["start_seconds"])
        for h in search(db, query, limit=100, where=["transcripts"])
    }


def test_sample_transcripts_indexed_and_second_run_is_free(synced, emu, token):
    outcome = run(synced, emu, token)
    assert outcome.exit_code == 0, outcome.message
    assert caption_units(emu) == PUBLIC_VIDEOS * 50 + len(CAPTIONED) * 200
    assert outcome.notes == [f"{PUBLIC_VIDEOS} videos checked, {len(CAPTIONED)} with captions"]
    assert outcome.figures["quota_units"] == caption_units(emu)
    db = open_readonly(synced)
    with_cues = {r[0] for r in db.execute("SELECT DISTINCT video_id FROM transcript_cues")}
    assert with_cues == CAPTIONED
    kinds = dict(
        db.execute(
            "SELECT video_id, track_kind FROM caption_tracks WHERE state = 'ok' "
            "AND downloaded_at IS NOT NULL"
        ).fetchall()
    )
    assert kinds == {
        "kD7mQx2LrVw": "standard",
        "Ns9wE3hTq6b": "standard",
        "Gf1pR6yLk4x": "asr",
        "Lm0qW4zJd7g": "asr",
    }
    # The rolling ASR file is stored as downloaded, and its phrases once each.
    raw = db.execute(
        "SELECT raw_text FROM caption_tracks WHERE video_id = 'Gf1pR6yLk4x'"
    ).fetchone()[0]
    assert "<c>" in raw
    texts = [r[0] for r in db.execute(
        "SELECT text FROM transcript_cues WHERE video_id = 'Gf1pR6yLk4x' ORDER BY position"
    )]  # fmt: skip
    assert texts[:2] == ["はいそれでは始めさせて", "いただきます庄司です"]
    assert len(texts) == len(set(texts)) == 22
    overview = dict(db.execute("SELECT id, has_transcript FROM video_overview").fetchall())
    assert {v for v, has in overview.items() if has} == CAPTIONED
    row = db.execute(
        "SELECT start, url FROM transcript_index WHERE text LIKE '%ガバメントクラウドの上で%'"
    ).fetchone()
    assert row == ("0:27:45", "https://www.youtube.com/watch?v=Ns9wE3hTq6b&t=1665s")
    ledger = db.execute("SELECT sum(units) FROM quota_usage").fetchone()[0]
    db.close()
    assert ledger == emu.units_spent()

    emu.reset_stats()
    again = run(synced, emu, token)
    assert again.exit_code == 0 and caption_units(emu) == 0
    assert again.figures["quota_units"] == 0
    assert again.notes[0].startswith("no video is due for a check (each is listed again after 30")


def test_a_run_that_finds_no_captions_says_so(synced, emu, token):
    emu.captions = Captions()
    outcome = run(synced, emu, token)
    assert outcome.exit_code == 0, outcome.message
    assert outcome.notes == [f"{PUBLIC_VIDEOS} videos checked, none has captions"]
    assert f"\n{PUBLIC_VIDEOS} videos checked, none has captions" in run_summary(outcome)


def test_phrase_found_with_its_second_and_split_phrases(synced, emu, token):
    assert run(synced, emu, token).exit_code == 0
    db = open_readonly(synced)
    hits = search(db, "ガバメントクラウド", where=["transcripts"])
    lecture = next(h for h in hits if h["video_id"] == "Ns9wE3hTq6b")
    assert lecture["match_kind"] == "transcript"
    assert lecture["start_seconds"] == 1665.0
    assert lecture["deep_link"] == "https://www.youtube.com/watch?v=Ns9wE3hTq6b&t=1665s"
    assert "ガバメントクラウド" in lecture["context"] and lecture["text"] in lecture["context"]
    found = {q: transcript_hits(db, q) for q in LABELLED}
    db.close()
    relevant = sum(len(v) for v in LABELLED.values())
    true_pos = sum(len(found[q] & LABELLED[q]) for q in LABELLED)
    retrieved = sum(len(found[q]) for q in LABELLED)
    assert found == LABELLED
    assert true_pos / retrieved == 1.0 and true_pos / relevant == 1.0


def test_search_in_narrows_and_cli_prints_the_second(synced, emu, token):
    assert run(synced, emu, token).exit_code == 0
    db = open_readonly(synced)
    assert search(db, "ガバメントクラウド", where=["titles", "chapters"]) == []
    titles = search(db, "オープンデータ", where=["titles"])
    assert titles and {h["match_kind"] for h in titles} == {"title"}
    everywhere = {h["match_kind"] for r in search(db, "オープンデータ") for h in [r, *r["hits"]]}
    assert {"title", "transcript"} <= everywhere
    db.close()
    env = cli_env(emu)
    result = run_cli(
        ["search", "--db", str(synced), "--in", "transcripts", "基幹業務システム"], env
    )
    assert result.returncode == 0, result.stderr
    assert "transcript at 0:03:30" in result.stdout and "&t=210s" in result.stdout
    bad = run_cli(["search", "--db", str(synced), "--in", "subtitles", "x"], env)
    assert bad.returncode == 2 and "subtitles" in bad.stderr and "Traceback" not in bad.stderr


def test_max_units_is_never_exceeded_and_later_runs_finish(synced, emu, token):
    outcome = run(synced, emu, token, max_units=300)
    assert outcome.exit_code == 0
    assert 0 < caption_units(emu) <= 300
    total = caption_units(emu)
    for _ in range(10):
        emu.reset_stats()
        outcome = run(synced, emu, token, max_units=300)
        assert outcome.exit_code == 0 and caption_units(emu) <= 300
        total += caption_units(emu)
        if caption_units(emu) == 0:
            break
    assert total == PUBLIC_VIDEOS * 50 + len(CAPTIONED) * 200
    db = open_readonly(synced)
    assert {r[0] for r in db.execute("SELECT DISTINCT video_id FROM transcript_cues")} == CAPTIONED
    db.close()


def test_safety_margin_is_kept_and_quota_exits_75(synced, emu, token):
    spent = emu.units_spent()  # the metadata sync's units, already in the ledger
    settings = Settings(daily_budget=spent + 520, safety_margin=200)
    outcome = run(synced, emu, token, settings=settings)
    assert outcome.exit_code == 75, outcome.message
    assert caption_units(emu) <= 320
    db = open_readonly(synced)
    assert db.execute("SELECT sum(units) FROM quota_usage").fetchone()[0] <= spent + 320
    assert db.execute("SELECT count(*) FROM caption_checks").fetchone()[0] >= 1
    db.close()


def test_asr_403_is_the_tracks_state_not_a_failed_run(synced, emu, token):
    emu.captions.refuse_asr = True
    outcome = run(synced, emu, token)
    assert outcome.exit_code == 0, outcome.message
    db = open_readonly(synced)
    states = dict(
        db.execute(
            "SELECT video_id, state FROM caption_tracks WHERE track_kind = 'asr' "
            "AND state IS NOT NULL"
        ).fetchall()
    )
    assert states == {"Gf1pR6yLk4x": "forbidden", "Lm0qW4zJd7g": "forbidden"}
    assert {r[0] for r in db.execute("SELECT DISTINCT video_id FROM transcript_cues")} == {
        "kD7mQx2LrVw",
        "Ns9wE3hTq6b",
    }
    db.close()
    emu.reset_stats()
    assert run(synced, emu, token).exit_code == 0 and caption_units(emu) == 0


def test_changed_track_is_downloaded_again(synced, emu, token):
    assert run(synced, emu, token).exit_code == 0
    track = next(t for t in emu.captions.for_video("Lm0qW4zJd7g"))
    cues = [*track["cues"], [600.0, 603.0, "ここまでが第三部です"]]
    emu.captions.update_track(track["id"], cues=cues, lastUpdated="2024-05-01T00:00:00.000Z")
    # Nothing tells the run the track changed until its video is re-listed (30 days on).
    emu.reset_stats()
    assert run(synced, emu, token).exit_code == 0 and caption_units(emu) == 0
    db = open_db(synced)
    db.execute("UPDATE caption_checks SET checked_at = '2020-01-01T00:00:00Z'")
    db.conn.commit()
    db.close()
    assert run(synced, emu, token, video_ids=("Lm0qW4zJd7g",)).exit_code == 0
    assert caption_units(emu) == 50 + 200
    db = open_readonly(synced)
    assert transcript_hits(db, "第三部") == {("Lm0qW4zJd7g", 600.0)}
    db.close()


def test_revoked_token_fails_before_anything_changes(synced, emu, token):
    emu.oauth.revoke(refresh_token_of(token))
    before = sqlite3.connect(synced).execute("SELECT count(*) FROM sync_runs").fetchone()
    with pytest.raises(AuthError) as excinfo:
        run(synced, emu, token)
    assert "archivesync auth" in str(excinfo.value)
    assert refresh_token_of(token) not in str(excinfo.value)
    after = sqlite3.connect(synced).execute("SELECT count(*) FROM sync_runs").fetchone()
    assert before == after


def test_cli_without_token_names_auth_and_metadata_still_works(synced, emu):
    env = cli_env(emu)
    env.pop("ARCHIVESYNC_OAUTH_TOKEN_FILE", None)
    result = run_cli(
        ["transcripts", "--db", str(synced), "--channel", "UCX__Mlqfalo-NO1zAHhhuNw"], env
    )
    assert result.returncode == 1
    assert "archivesync auth" in result.stderr and "Traceback" not in result.stderr
    ok = run_cli(["sync", "--db", str(synced), "--channel", "UCX__Mlqfalo-NO1zAHhhuNw"], env)
    assert ok.returncode == 0, ok.stderr


def test_cli_run_and_import_srt(synced, emu, token, tmp_path):
    env = cli_env(emu)
    env["ARCHIVESYNC_OAUTH_TOKEN_FILE"] = str(token)
    result = run_cli(
        ["transcripts", "--db", str(synced), "--channel", "UCX__Mlqfalo-NO1zAHhhuNw",
         "--video", "Gf1pR6yLk4x", "--json"], env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["quota_units"] == 250
    srt_file = tmp_path / "seminar.srt"
    srt_file.write_text(
        "1\n00:01:02,500 --> 00:01:06,000\n窓口DXの事例を\n\n"
        "2\n00:01:06,000 --> 00:01:09,000\nご紹介します\n",
        encoding="utf-8",
    )
    imported = run_cli(
        ["transcripts", "import", "--db", str(synced), "--video", "Pz8cF1sKv3n", str(srt_file)],
        env,
    )
    assert imported.returncode == 0, imported.stderr
    db = open_readonly(synced)
    assert transcript_hits(db, "事例をご紹介") == {("Pz8cF1sKv3n", 62.5)}
    kind = db.execute(
        "SELECT track_kind FROM caption_tracks WHERE video_id = 'Pz8cF1sKv3n'"
    ).fetchone()
    db.close()
    assert kind == ("imported",)
    # A sync of that video lists its (absent) tracks but never touches the import.
    again = run_cli(
        ["transcripts", "--db", str(synced), "--channel", "UCX__Mlqfalo-NO1zAHhhuNw"], env
    )
    assert again.returncode == 0, again.stderr
    db = open_readonly(synced)
    assert transcript_hits(db, "事例をご紹介") == {("Pz8cF1sKv3n", 62.5)}
    db.close()
    broken = tmp_path / "broken.srt"
    broken.write_text("1\nnot a time\nhello\n", encoding="utf-8")
    bad = run_cli(
        ["transcripts", "import", "--db", str(synced), "--video", "Pz8cF1sKv3n", str(broken)], env
    )
    assert bad.returncode == 1 and "broken.srt" in bad.stderr and "Traceback" not in bad.stderr


def test_rolling_vtt_keeps_each_phrase_once_with_milliseconds():
    raw = (
        "WEBVTT\nKind: captions\nLanguage: ja\n\n"
        "00:00:01.250 --> 00:00:03.490 align:start position:0%\n \n"
        "自治体<00:00:02.000><c>DX</c>\n\n"
        "00:00:03.490 --> 00:00:03.500 align:start position:0%\n自治体DX\n \n\n"
        "00:00:03.500 --> 00:00:05.000 align:start position:0%\n自治体DX\n"
        "はい<00:00:04.000><c>はい</c>\n\n"
        "00:00:05.000 --> 00:00:06.000 align:start position:0%\nはいはい\nはいはい\n"
    )
    cues = parse_vtt(raw)
    assert [(c.start_seconds, c.text) for c in cues] == [
        (1.25, "自治体DX"),
        (3.5, "はいはい"),
        (5.0, "はいはい"),  # said again: kept
    ]
    assert cues[0].end_seconds == 3.5  # extended by the 10 ms cue


def test_unparseable_files_raise():
    with pytest.raises(TranscriptParseError):
        parse("this is not a caption file", "vtt")
    with pytest.raises(TranscriptParseError):
        parse("1\nxx --> yy\ntext\n", "srt")


def test_schedule_job_in_transcripts_mode(synced, emu, token, tmp_path, monkeypatch):
    from archivesync.emulator import DEMO_API_KEY
    from archivesync.worker.daemon import Daemon
    from archivesync.worker.schedules import _load_file

    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "t.toml").write_text(
        '[[jobs]]\nid = "captions"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\n'
        'mode = "transcripts"\nmax_units = 300\ncron = "0 4 * * *"\n'
        '[[jobs]]\nid = "bad"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\nmax_units = 5\n'
        'every = "1h"\n',
        encoding="utf-8",
    )
    specs, problems, _ = _load_file(schedules / "t.toml")
    assert [p for p in problems if "max_units" in p and "'bad'" in p]
    (spec,) = specs
    assert (spec.mode, spec.max_units) == ("transcripts", 300)
    monkeypatch.setenv("ARCHIVESYNC_OAUTH_TOKEN_FILE", str(token))
    daemon = Daemon(
        synced,
        [spec],
        api_key=DEMO_API_KEY,
        endpoint=emu.url,
        settings=Settings(),
        schedules_dir=schedules,
    )
    daemon._scheduled_run(spec)
    assert 0 < caption_units(emu) <= 300
    db = open_readonly(synced)
    row = db.execute("SELECT mode, trigger, status FROM sync_runs ORDER BY id DESC").fetchone()
    db.close()
    assert row == ("transcripts", "schedule", "ok")


def test_datasette_finds_transcripts_like_the_cli(synced, emu, token):
    from tests.test_datasette import fetch

    assert run(synced, emu, token).exit_code == 0
    for query in ("基幹業務システム", "心理的安全性", "ガバメントクラウド"):
        [(status, rows)] = fetch(
            synced, f"/archive/transcripts_matching.json?q={query}&_shape=array"
        )
        assert status == 200, rows
        assert {(r["video_id"], r["start_seconds"]) for r in rows} == LABELLED[query]
        assert all(r["url"].endswith(f"&t={int(r['start_seconds'])}s") for r in rows)
