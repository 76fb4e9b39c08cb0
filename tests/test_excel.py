"""Exports for Excel: the console's CSV and .xlsx (Japanese headers, JST, formulas neutralised)
and Datasette's `.csvbom` / `.xlsx`, while Datasette's raw `.csv` keeps names and UTC."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest
from openpyxl import load_workbook

from archivesync.web.app import make_datasette
from archivesync.web.tables import Column, csv_bytes, neutralise, xlsx_bytes

from .helpers import SAMPLE_CHANNEL
from .web_helpers import fetch, synced_index

VID = "Ns9wE3hTq6b"  # a lecture of the sample channel with chapters
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    found = synced_index(tmp_path_factory.mktemp("excel"))
    # Titles as an uploader could write them: each would be a formula in Excel if written raw.
    conn = sqlite3.connect(found["db"])
    with conn:
        for position, title in enumerate(HOSTILE, start=1):
            conn.execute(
                "UPDATE chapters SET title = ? WHERE video_id = ? AND position = ?",
                [title, VID, position],
            )
        conn.execute("UPDATE videos SET title = ? WHERE id = ?", ["=1+1 講義", VID])
    conn.close()
    return found


def _workbook(body: bytes):
    return load_workbook(io.BytesIO(body)).active


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_neutralise_prefixes_only_what_excel_would_run():
    assert [neutralise(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert neutralise("オープンデータ -入門") == "オープンデータ -入門"
    assert neutralise(-5) == -5 and neutralise(None) is None


def test_xlsx_keeps_hostile_text_as_text_and_sizes_columns_for_japanese():
    columns = [Column("t", "タイトル"), Column("at", "公開日時"), Column("n", "再生回数")]
    rows = [{"t": v, "at": "2024-05-01T03:00:00Z", "n": 12} for v in HOSTILE] + [
        {"t": "自治体職員のためのデータ利活用入門講座", "at": None, "n": None}
    ]
    ws = _workbook(xlsx_bytes(columns, rows))
    assert [c.value for c in ws[1]] == ["タイトル", "公開日時", "再生回数"]
    for row, value in zip(ws.iter_rows(min_row=2, max_row=len(HOSTILE) + 1), HOSTILE, strict=True):
        title, at, n = row
        # XML reads a carriage return back as a line feed; the text is otherwise as written.
        expected = value.replace("\r", "\n")
        assert (title.value, title.data_type, title.quotePrefix) == (expected, "s", True)
        # JST: 03:00 UTC is noon in Tokyo, stored as a date-time Excel can sort.
        assert at.value.isoformat() == "2024-05-01T12:00:00" and at.is_date
        assert n.value == 12 and n.data_type == "n"
    # A CJK character is two columns wide: 19 of them need about 40.
    assert ws.column_dimensions["A"].width >= 40
    assert ws.column_dimensions["C"].width < 15
    text = csv_bytes(columns, rows).decode("utf-8-sig")
    assert "2024-05-01 12:00" in text and "'=HYPERLINK" in text


def test_console_exports_have_japanese_headers_jst_and_no_formulas(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    chapters_csv, chapters_xlsx, search_csv, search_xlsx, monthly, requests = fetch(
        ds,
        ("get", f"/-/video/{VID}?format=csv", {}),
        ("get", f"/-/video/{VID}?format=xlsx", {}),
        ("get", "/-/search?q=オープンデータ&format=csv", {}),
        ("get", "/-/search?q=オープンデータ&format=xlsx", {}),
        ("get", f"/-/channel/{SAMPLE_CHANNEL}?format=xlsx", {}),
        ("get", "/-/requests?format=xlsx", {}),
    )
    rows = _csv(chapters_csv.content)
    assert rows[0] == ["番号", "開始位置", "開始 (秒)", "終了 (秒)", "チャプター", "URL"]
    titles = [r[4] for r in rows[1:]]
    assert titles[: len(HOSTILE)] == ["'" + v for v in HOSTILE]
    ws = _workbook(chapters_xlsx.content)
    assert chapters_xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert [c.value for c in ws[1]][4] == "チャプター"
    formula_cells = [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []
    assert ws.cell(row=2, column=5).value == HOSTILE[0]
    # Search: a row per video then per hit, publication time in JST.
    rows = _csv(search_csv.content)
    assert rows[0][:3] == ["動画 ID", "タイトル", "公開日時"]
    assert any(r[1] == "'=1+1 講義" for r in rows[1:])
    assert all("T" not in r[2] and not r[2].endswith("Z") for r in rows[1:])
    ws = _workbook(search_xlsx.content)
    assert [c.value for c in ws[1]][:3] == ["動画 ID", "タイトル", "公開日時"]
    published = [ws.cell(row=r, column=3).value for r in range(2, ws.max_row + 1)]
    assert published and all(hasattr(p, "hour") for p in published)
    assert _workbook(monthly.content).cell(row=1, column=3).value == "公開本数"
    assert _workbook(requests.content).cell(row=1, column=2).value == "依頼日時"


def test_datasette_raw_csv_keeps_names_and_utc_the_excel_ones_do_not(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    raw, bom, xlsx = fetch(
        ds,
        ("get", f"/archive/video_overview.csv?id={VID}", {}),
        ("get", f"/archive/video_overview.csvbom?id={VID}", {}),
        ("get", f"/archive/video_overview.xlsx?id={VID}", {}),
    )
    assert raw.status_code == bom.status_code == xlsx.status_code == 200
    raw_rows = list(csv.reader(io.StringIO(raw.text)))
    assert raw_rows[0][:3] == ["id", "title", "published_at"]
    assert raw_rows[1][1] == "=1+1 講義" and raw_rows[1][2].endswith("Z")
    bom_rows = _csv(bom.content)
    assert bom_rows[0][:3] == ["ID", "タイトル", "公開日時"]
    assert bom_rows[1][1] == "'=1+1 講義" and not bom_rows[1][2].endswith("Z")
    ws = _workbook(xlsx.content)
    assert [c.value for c in ws[1]][:3] == ["ID", "タイトル", "公開日時"]
    title = ws.cell(row=2, column=2)
    assert (title.value, title.data_type, title.quotePrefix) == ("=1+1 講義", "s", True)
    assert hasattr(ws.cell(row=2, column=3).value, "hour")
