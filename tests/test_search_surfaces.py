"""One table of queries through every screen: the core search, the CLI, the console page and its
CSV, Datasette's canned query. Each must give the same video, second and link (issue 17: the
console had its own matcher and landed one cue early)."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import re
from html import unescape
from urllib.parse import quote

import pytest

from archivesync.db.schema import open_readonly
from archivesync.emulator import Emulator, load_dataset
from archivesync.emulator.captions import load_captions
from archivesync.search.query import search
from archivesync.transcripts.sync import TranscriptOptions, run_transcripts
from archivesync.web.app import make_datasette
from archivesync.web.browse import HIT_PLACES, SEARCH_COLUMNS
from tests.helpers import REPO, SAMPLE, SAMPLE_CHANNEL, cli_env, run_cli, sync
from tests.oauth_helpers import write_token_file

ROUNDTABLE = "kD7mQx2LrVw"  # the full roundtable
LECTURE = "Ns9wE3hTq6b"
ASR = "Gf1pR6yLk4x"
ASR2 = "Lm0qW4zJd7g"

# query -> every (video, second) where a person finds it in the sample transcripts.
TABLE = {
    # Said at 33:20 in the roundtable; split across two cues in Lm0 ("...心理的" / "安全性...").
    "心理的安全性": {(ROUNDTABLE, 2000), (ASR2, 240)},
    # One character: 33:05 (the console said 27:45).
    "窓": {(LECTURE, 1985)},
    # Two characters, several cues of one video (the CSV listed cues without the word).
    "人材": {
        (ROUNDTABLE, 2340), (ROUNDTABLE, 3735), (ROUNDTABLE, 4360),
        (LECTURE, 3135), (LECTURE, 3420),
    },
    "窓口": {(LECTURE, 1985)},
    # Split across two cues ("...20の基幹業務" / "システムを...") and whole in one.
    "基幹業務システム": {(ASR, 210), (LECTURE, 1665)},
    # A phrase at the end of a cue ("2025年度末までに標準準拠").
    "標準準拠": {(ASR, 552)},
    "api": {(ASR, 2910)},
    "量子コンピュータ": set(),
}  # fmt: skip


def _link(video: str, second: int) -> str:
    return f"https://www.youtube.com/watch?v={video}&t={second}s"


def _expected(query: str) -> set[tuple[str, int, str]]:
    return {(v, s, _link(v, s)) for v, s in TABLE[query]}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("surfaces")
    db_path = tmp / "archive.db"
    captions = load_captions(REPO / "data" / "sample_transcripts.json")
    with Emulator(load_dataset(SAMPLE), captions=captions) as emu:
        assert sync(db_path, emu).exit_code == 0
        outcome = run_transcripts(
            db_path,
            SAMPLE_CHANNEL,
            token_file=write_token_file(tmp / "token.json", emu),
            endpoint=emu.url,
            options=TranscriptOptions(),
        )
        assert outcome.exit_code == 0, outcome.message
        env = cli_env(emu)
    return {"db": db_path, "env": env}


def _from_rows(rows: list[dict]) -> set[tuple[str, int, str]]:
    return {
        (r["video_id"], int(h["start_seconds"]), h["deep_link"])
        for r in rows
        for h in r["hits"]
        if h["match_kind"] == "transcript"
    }


def _console(db_path, query: str) -> tuple[str, str]:
    async def go():
        ds = make_datasette(db_path)
        await ds.invoke_startup()
        q = quote(query)
        page = await ds.client.get(f"/-/search?q={q}&in=transcripts")
        table = await ds.client.get(f"/-/search?q={q}&in=transcripts&format=csv")
        canned = await ds.client.get(f"/archive/transcripts_matching.json?q={q}&_shape=array")
        assert page.status_code == table.status_code == canned.status_code == 200
        return page.text, table.text, canned.json()

    return asyncio.run(go())


@pytest.mark.parametrize("query", list(TABLE))
def test_every_surface_gives_the_same_video_second_and_link(index, query):
    expected = _expected(query)
    db = open_readonly(index["db"])
    try:
        core = _from_rows(search(db, query, where=["transcripts"]))
    finally:
        db.close()
    assert core == expected

    cli = run_cli(
        ["search", "--db", str(index["db"]), "--in", "transcripts", "--json", query],
        index["env"],
    )
    assert cli.returncode == 0, cli.stderr
    rows = json.loads(cli.stdout)
    assert _from_rows(rows) == expected
    assert all(r["matched_by"] == ["words"] for r in rows)

    page, table, canned = _console(index["db"], query)
    # The console page: each hit's time links to the cue's second.
    shown = set(re.findall(r'data-video="([^"]+)"', page))
    linked = set(re.findall(r'<a class="time" href="([^"]+)"', page.replace("&amp;", "&")))
    assert shown == {v for v, _, _ in expected}
    assert linked == {link for _, _, link in expected}
    # Its CSV: one line per hit, each at the second of the cue that holds the words.
    label = {c.key: c.label for c in SEARCH_COLUMNS}
    lines = list(csv.DictReader(io.StringIO(table.lstrip("\ufeff"))))
    spoken = [r for r in lines if r[label["where"]] == HIT_PLACES["transcript"]]
    assert {
        (r[label["video_id"]], int(float(r[label["start_seconds"]])), r[label["url"]])
        for r in spoken
    } == expected
    # Datasette's canned query.
    assert {(r["video_id"], int(r["start_seconds"]), r["url"]) for r in canned} == expected


def test_cli_context_begins_with_the_hits_own_cue(index):
    result = run_cli(
        ["search", "--db", str(index["db"]), "--in", "transcripts", "心理的安全性"], index["env"]
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if "transcript at 0:33:20" in x)
    assert line.split(": ", 1)[1].startswith("失敗を責めない雰囲気、心理的安全性")
    assert "0:39:00" not in result.stdout


# Every mode and a choice of places, filters and spellings: the console's page, its CSV and the
# Datasette query it links to must list the same videos and hits (issue 19: the link from a
# mixed or meaning search led to a query missing transcript or meaning hits).
CONSOLE_CASES = [
    (mode, query, scope)
    for mode in ("words", "meaning", "hybrid")
    for query, scope in [
        ("人材", ()),
        ("人材", ("titles", "transcripts")),
        ("移行の費用は国が負担する", ()),
        ("移行の費用は国が負担する", ("transcripts",)),
        ("オープンデータ", ("chapters", "other")),
        ("心理的安全性", ("titles", "chapters")),
        # Filters ride along: key=value entries are the page's other fields.
        ("人材", ("transcripts", "year=2022")),
        ("重点取り組み事項", ()),  # words find the spelling 重点取組事項 ...
        ("重点取り組み事項", ("exact=1",)),  # ... unless spelling variants are off
    ]
]


@functools.cache
def _console_and_link(db_path, mode: str, query: str, scope: tuple) -> tuple:
    """The console's page and CSV for a search, the page of the Datasette query it links to,
    and that query's rows as JSON (once per case: two tests read them)."""
    params = {"q": query, "mode": mode, "in": [s for s in scope if "=" not in s]}
    params.update(s.split("=", 1) for s in scope if "=" in s)

    async def go():
        ds = make_datasette(db_path)
        await ds.invoke_startup()
        page = await ds.client.get("/-/search", params=params)
        table = await ds.client.get("/-/search", params={**params, "format": "csv"})
        assert page.status_code == table.status_code == 200
        found = re.search(r'<a href="([^"]+)">Datasette の検索クエリ</a>', page.text)
        if found is None:
            return page.text, _csv(table.text), "", []
        link = unescape(found[1])
        html = await ds.client.get(link)
        as_json = link.replace("search_results?", "search_results.json?", 1)
        canned = await ds.client.get(as_json + "&_shape=array")
        assert html.status_code == canned.status_code == 200, canned.text
        return page.text, _csv(table.text), html.text, canned.json()

    return asyncio.run(go())


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.mark.parametrize("mode, query, scope", CONSOLE_CASES)
def test_the_datasette_link_lists_the_consoles_hits_in_every_mode(meaning_db, mode, query, scope):
    page, table, html, canned = _console_and_link(meaning_db, mode, query, scope)
    label = {c.key: c.label for c in SEARCH_COLUMNS}
    from_csv = [
        (r[label["video_id"]], r[label["where"]], r[label["start_seconds"]], r[label["url"]])
        for r in table
    ]
    if not from_csv:
        assert "該当する動画はありません" in page and not canned
        return
    assert "<title>コンソールの検索結果" in html  # a Japanese title, not the SQL
    from_query = [
        (
            r["video_id"],
            HIT_PLACES[r["kind"]],
            "" if r["start_seconds"] is None else str(r["start_seconds"]),
            r["url"],
        )
        for r in canned
    ]
    assert from_query == from_csv
    # ... and the page shows those videos and links to those hits.
    shown = re.findall(r'data-video="([^"]+)"', page)
    assert shown == [v for v, where, _, _ in from_csv if where == HIT_PLACES["video"]]
    linked = re.findall(r'<a class="time" href="([^"]+)"', page.replace("&amp;", "&"))
    assert linked == [url for _, where, _, url in from_csv if where != HIT_PLACES["video"]]


def test_the_console_cases_cover_every_kind_of_hit(meaning_db):
    """The table above is no table of empty answers: each mode finds videos, cue hits and
    chapter hits, and meaning finds what words do not."""
    kinds: dict[str, set] = {}
    for mode, query, scope in CONSOLE_CASES:
        _, table, _, _ = _console_and_link(meaning_db, mode, query, scope)
        kinds.setdefault(mode, set()).update(r[SEARCH_COLUMNS[3].label] for r in table)
    assert all(kinds[m] == set(HIT_PLACES.values()) for m in kinds), kinds
