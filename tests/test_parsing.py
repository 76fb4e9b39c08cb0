"""Table-driven tests for archivesync.parsing (pure functions, no I/O)."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from archivesync.parsing import (
    _COLON_FORMS,
    Chapter,
    format_duration,
    normalize_text,
    parse_chapters,
    parse_duration,
    parse_timestamp,
)
from archivesync.timestamps import iso_utc, parse_iso
from archivesync.urls import chapter_url, video_url

# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PT15M51S", 951),
        ("PT1H", 3600),
        ("PT45S", 45),
        ("P1DT2H3M4S", 93784),
        ("PT1H23M21S", 5001),
        ("PT13M56S", 836),
        ("PT2M", 120),
        ("PT1H5S", 3605),
        ("P1D", 86400),
        ("P1W", 604800),
        ("P1W1D", 691200),
        ("PT100M", 6000),
        ("PT1.5S", 1),
        ("PT59.999S", 59),
        ("PT1,9S", 1),
        (" PT45S ", 45),
        # Unknown, not zero: upcoming / live broadcasts, or no duration at all.
        ("P0D", None),
        ("PT0S", None),
        ("PT0M0S", None),
        ("PT0.4S", None),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_duration(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "P",
        "PT",
        "P1DT",
        "15:51",
        "PT15M51",
        "T15M",
        "PT1S2M",  # components out of order
        "P1Y",  # years and months have no fixed length
        "P1M",
        "PT-5S",
        "PT1.5M",  # only seconds may be fractional
        "pt15m",
        "PT１５S",  # full-width digits are not ISO 8601
        "PT15M51S extra",
    ],
)
def test_parse_duration_rejects_malformed(value):
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (5001, "1:23:21"),
        (836, "13:56"),
        (45, "0:45"),
        (0, "0:00"),
        (60, "1:00"),
        (599, "9:59"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (93784, "26:03:04"),
        (None, None),
    ],
)
def test_format_duration(seconds, expected):
    assert format_duration(seconds) == expected


def test_format_duration_rejects_negative():
    with pytest.raises(ValueError):
        format_duration(-1)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ＤＸ", "dx"),
        ("ＤＸとは", "dxとは"),
        ("２０２４年度", "2024年度"),
        ("ｶﾀｶﾅ", "カタカナ"),
        ("ｶﾞｲﾀﾞﾝｽ", "ガイダンス"),
        ("開会　挨拶", "開会 挨拶"),
        ("  a \t\n b  ", "a b"),
        ("Straße", "strasse"),
        ("ＡＢＣ　　ｄｅｆ", "abc def"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_text(value, expected):
    assert normalize_text(value) == expected


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0:00", 0),
        ("00:00", 0),
        ("0:00:00", 0),
        ("0:45", 45),
        ("13:56", 836),
        ("75:30", 4530),  # YouTube reads m:ss with m >= 60 as minutes
        ("1:02:03", 3723),
        ("01:02:03", 3723),
        ("０：４５", 45),
        ("１：０２：０３", 3723),
        (" 1:00 ", 60),
        ("1:60", None),
        ("1:60:00", None),
        ("1:00:60", None),
        ("1:5", None),
        ("abc", None),
        ("1:00 開会", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


# --------------------------------------------------------------------------------------------
# Chapters
# --------------------------------------------------------------------------------------------


def chapters(*rows: tuple[int, int | None, str]) -> list[Chapter]:
    """Chapters numbered from 1, from (start, end, title) rows."""
    return [Chapter(i, start, end, title) for i, (start, end, title) in enumerate(rows, 1)]


# Three chapters, 0:00 / 1:00 / 2:00, written in one form; duration 300 s.
THREE = chapters((0, 60, "開会"), (60, 120, "挨拶"), (120, 300, "閉会"))


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("0:00 開会\n1:00 挨拶\n2:00 閉会", id="plain"),
        pytest.param("0:00　開会\n1:00　挨拶\n2:00　閉会", id="ideographic-space"),
        pytest.param("0:00 - 開会\n1:00 - 挨拶\n2:00 - 閉会", id="hyphen"),
        pytest.param("0:00-開会\n1:00-挨拶\n2:00-閉会", id="hyphen-no-space"),
        pytest.param("0:00 – 開会\n1:00 – 挨拶\n2:00 – 閉会", id="en-dash"),
        pytest.param("0:00 — 開会\n1:00 — 挨拶\n2:00 — 閉会", id="em-dash"),
        pytest.param("0:00 ～ 開会\n1:00 ～ 挨拶\n2:00 ～ 閉会", id="fullwidth-tilde"),
        pytest.param("0:00 〜 開会\n1:00 〜 挨拶\n2:00 〜 閉会", id="wave-dash"),
        pytest.param("0:00 | 開会\n1:00 | 挨拶\n2:00 | 閉会", id="bar"),
        pytest.param("0:00~開会\n1:00~挨拶\n2:00~閉会", id="tilde-no-space"),
        pytest.param("★0:00 開会\n★1:00 挨拶\n★2:00 閉会", id="star-bullet"),
        pytest.param("0:00｜開会\n1:00｜挨拶\n2:00｜閉会", id="fullwidth-bar"),
        pytest.param("0:00: 開会\n1:00: 挨拶\n2:00: 閉会", id="colon"),
        pytest.param("0:00 ー 開会\n1:00 ー 挨拶\n2:00 ー 閉会", id="long-vowel-as-dash"),
        pytest.param("【0:00】開会\n【1:00】挨拶\n【2:00】閉会", id="lenticular"),
        pytest.param("【0:00】 開会\n【1:00】 挨拶\n【2:00】 閉会", id="lenticular-space"),
        pytest.param("[0:00] 開会\n[1:00] 挨拶\n[2:00] 閉会", id="square"),
        pytest.param("［0:00］開会\n［1:00］挨拶\n［2:00］閉会", id="fullwidth-square"),
        pytest.param("(0:00) 開会\n(1:00) 挨拶\n(2:00) 閉会", id="paren"),
        pytest.param("（0:00）開会\n（1:00）挨拶\n（2:00）閉会", id="fullwidth-paren"),
        pytest.param("〔0:00〕開会\n〔1:00〕挨拶\n〔2:00〕閉会", id="tortoise-shell"),
        pytest.param("開会 0:00\n挨拶 1:00\n閉会 2:00", id="title-first"),
        pytest.param("開会　0:00\n挨拶　1:00\n閉会　2:00", id="title-first-ideographic"),
        pytest.param("開会 - 0:00\n挨拶 - 1:00\n閉会 - 2:00", id="title-first-hyphen"),
        pytest.param("開会：0:00\n挨拶：1:00\n閉会：2:00", id="title-first-colon"),
        pytest.param("開会【0:00】\n挨拶【1:00】\n閉会【2:00】", id="title-first-bracket"),
        pytest.param("開会 (0:00)\n挨拶 (1:00)\n閉会 (2:00)", id="title-first-paren"),
        pytest.param("０：００　開会\n１：００　挨拶\n２：００　閉会", id="fullwidth-digits"),
        pytest.param("0﹕00 開会\n1﹕00 挨拶\n2﹕00 閉会", id="small-colon-only"),
        pytest.param("0︓00 開会\n1︓00 挨拶\n2︓00 閉会", id="vertical-colon-only"),
        pytest.param("開会 ０：００\n挨拶 １：００\n閉会 ２：００", id="title-first-fullwidth"),
        pytest.param("00:00 開会\n01:00 挨拶\n02:00 閉会", id="two-digit-minutes"),
        pytest.param("0:00:00 開会\n0:01:00 挨拶\n0:02:00 閉会", id="hours"),
        pytest.param("00:00:00 開会\n00:01:00 挨拶\n00:02:00 閉会", id="two-digit-hours"),
        pytest.param("・0:00 開会\n・1:00 挨拶\n・2:00 閉会", id="nakaguro-bullet"),
        pytest.param("- 0:00 開会\n- 1:00 挨拶\n- 2:00 閉会", id="hyphen-bullet"),
        pytest.param("● 0:00 開会\n● 1:00 挨拶\n● 2:00 閉会", id="circle-bullet"),
        pytest.param("1. 0:00 開会\n2. 1:00 挨拶\n3. 2:00 閉会", id="numbered"),
        pytest.param("1) 0:00 開会\n2) 1:00 挨拶\n3) 2:00 閉会", id="numbered-paren"),
        pytest.param("・開会 0:00\n・挨拶 1:00\n・閉会 2:00", id="bullet-title-first"),
        pytest.param("・【0:00】開会\n・【1:00】挨拶\n・【2:00】閉会", id="bullet-bracket"),
        pytest.param("0:00 開会  \n1:00 挨拶\t\n2:00 閉会　", id="trailing-whitespace"),
        pytest.param("  0:00 開会\n  1:00 挨拶\n  2:00 閉会", id="leading-whitespace"),
        pytest.param("0:00 開会\r\n1:00 挨拶\r\n2:00 閉会\r\n", id="crlf"),
        pytest.param("0:00 ~ 1:00 開会\n1:00 ~ 2:00 挨拶\n2:00 ~ 5:00 閉会", id="ranges"),
        pytest.param("0:00～1:00 開会\n1:00～2:00 挨拶\n2:00～ 閉会", id="ranges-fullwidth"),
    ],
)
def test_chapter_forms(description):
    assert parse_chapters(description, 300) == THREE


@pytest.mark.parametrize(
    ("description", "duration", "expected"),
    [
        pytest.param(
            "0:00 Intro\n0:15 Part one\n1:30 Part two\n4:40 Outro",
            300,
            chapters(
                (0, 15, "Intro"), (15, 90, "Part one"), (90, 280, "Part two"), (280, 300, "Outro")
            ),
            id="end-seconds-and-positions",
        ),
        pytest.param(
            "0:00 開会\n1:00 挨拶\n2:00 閉会",
            None,
            chapters((0, 60, "開会"), (60, 120, "挨拶"), (120, None, "閉会")),
            id="unknown-duration-last-end-none",
        ),
        pytest.param(
            "0:00 開会\n1:00 挨拶\n2:00 閉会",
            130,
            chapters((0, 60, "開会"), (60, 120, "挨拶"), (120, 130, "閉会")),
            id="last-exactly-10s",
        ),
        pytest.param(
            "0:00 開会\n0:10 挨拶\n0:20 閉会",
            30,
            chapters((0, 10, "開会"), (10, 20, "挨拶"), (20, 30, "閉会")),
            id="every-chapter-exactly-10s",
        ),
        pytest.param(
            "0:00 オープニング\n15:00 第1部\n1:02:03 第2部\n1:30:00 閉会",
            6000,
            chapters(
                (0, 900, "オープニング"),
                (900, 3723, "第1部"),
                (3723, 5400, "第2部"),
                (5400, 6000, "閉会"),
            ),
            id="mixed-hours-and-minutes",
        ),
        pytest.param(
            "0:00 前半\n45:00 後半\n75:30 延長",
            6000,
            chapters((0, 2700, "前半"), (2700, 4530, "後半"), (4530, 6000, "延長")),
            id="minutes-over-59",
        ),
        pytest.param(
            "０：００　オープニング\n【1:23】ＤＸとは\n開会挨拶 - 5:00\n(10:00) ｶﾞｲﾀﾞﾝｽ",
            900,
            chapters(
                (0, 83, "オープニング"),
                (83, 300, "ＤＸとは"),
                (300, 600, "開会挨拶"),
                (600, 900, "ｶﾞｲﾀﾞﾝｽ"),
            ),
            id="mixed-forms-titles-kept-as-written",
        ),
        pytest.param(
            "本日の配信です。\n受付は9:30から、開会は10:00です。\n10:00から開始します\n"
            "\n目次\n0:00 開会\n1:00 挨拶\n2:00 閉会\n\n#イベント https://example.com/10:00",
            300,
            THREE,
            id="times-of-day-in-sentences-ignored",
        ),
        pytest.param(
            "0:00 開会\n会場は 渋谷です\n1:00 挨拶\nそのあと懇親会\n2:00 閉会",
            300,
            THREE,
            id="prose-between-chapter-lines",
        ),
        pytest.param(
            "0:00 開会\n0:30\n1:00 挨拶\n1:30 -\n2:00 閉会",
            300,
            THREE,
            id="lines-without-title-skipped",
        ),
        pytest.param(
            "0:00 【開会】 第1部 - 挨拶\n1:00 Q&A: 質疑 | 応答\n2:00 閉会（まとめ）",
            300,
            chapters(
                (0, 60, "【開会】 第1部 - 挨拶"),
                (60, 120, "Q&A: 質疑 | 応答"),
                (120, 300, "閉会（まとめ）"),
            ),
            id="title-text-kept-inside",
        ),
        pytest.param(
            "1.5倍速 0:00\n2倍速 1:00\n3倍速 2:00",
            300,
            chapters((0, 60, "1.5倍速"), (60, 120, "2倍速"), (120, 300, "3倍速")),
            id="number-in-title-not-a-list-number",
        ),
        pytest.param(
            "0:00 Intro\n1:00 Talk\n2:00 Outro",
            300,
            chapters((0, 60, "Intro"), (60, 120, "Talk"), (120, 300, "Outro")),
            id="ascii",
        ),
        pytest.param(
            "０：００ ＤＸとは\n１：００ ㍻の話\n２：００ ﬁnal ½",
            300,
            chapters((0, 60, "ＤＸとは"), (60, 120, "㍻の話"), (120, 300, "ﬁnal ½")),
            id="titles-as-written-when-nfkc-changes-length",
        ),
    ],
)
def test_chapters_valid(description, duration, expected):
    assert parse_chapters(description, duration) == expected


@pytest.mark.parametrize(
    ("description", "duration"),
    [
        pytest.param("0:05 開会\n1:00 挨拶\n2:00 閉会", 300, id="first-not-at-zero"),
        pytest.param("開会\n1:00 挨拶\n2:00 閉会\n3:00 懇親会", 300, id="zero-missing"),
        pytest.param("0:00 開会\n1:00 閉会", 300, id="only-two"),
        pytest.param("0:00 開会", 300, id="only-one"),
        pytest.param("0:00 開会\n2:00 挨拶\n1:00 閉会", 300, id="not-ascending"),
        pytest.param("0:00 開会\n1:00 挨拶\n1:00 閉会", 300, id="repeated-time"),
        pytest.param("0:00 開会\n0:09 挨拶\n2:00 閉会", 300, id="chapter-under-10s"),
        pytest.param("0:00 開会\n1:00 挨拶\n2:00 閉会", 129, id="last-under-10s"),
        pytest.param("0:00 開会\n1:00 挨拶\n2:00 閉会", 120, id="last-start-at-duration"),
        pytest.param("0:00 開会\n1:00 挨拶\n6:00 閉会", 300, id="last-start-beyond-duration"),
        pytest.param("0:00 開会\n1:00 挨拶\n1:05 閉会", None, id="unknown-duration-short"),
        pytest.param("0:00 開会\n0:60 挨拶\n2:00 閉会", 300, id="bad-seconds-line-skipped"),
        pytest.param("10:00から開始します\n11:00から挨拶\n12:00から閉会", 3600, id="sentences"),
        pytest.param("0:00 開会\n【1:00) 挨拶\n2:00 閉会", 300, id="unmatched-brackets"),
        pytest.param("0:00開会\n1:00挨拶\n2:00閉会", 300, id="title-glued-to-time"),
        pytest.param("開会は0:00\n挨拶は1:00\n閉会は2:00", 300, id="time-glued-to-title"),
        pytest.param("0:00 開会\n挨拶【1:00\n2:00 閉会", 300, id="unclosed-bracket-line-skipped"),
        pytest.param("", 300, id="empty"),
        pytest.param(None, 300, id="none"),
        pytest.param("ただの説明文です。", 300, id="no-timestamps"),
    ],
)
def test_chapters_invalid(description, duration):
    assert parse_chapters(description, duration) == []


def test_colon_forms_and_normal_lines_match_unicode_data():
    """The shortcuts in _chapter_line hold for every code point of this Python's Unicode data.

    A line is skipped when it holds no character of _COLON_FORMS, so that set must be exactly
    the characters whose NFKC contains ":". A line in NFKC skips the char-by-char
    normalisation, which is right only if no character NFKC changes can stand in NFKC text.
    """
    colon_forms = set()
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        folded = unicodedata.normalize("NFKC", ch)
        if ":" in folded:
            colon_forms.add(ch)
        if folded != ch:
            assert not unicodedata.is_normalized("NFKC", "a" + ch + "a"), hex(code)
    assert colon_forms == _COLON_FORMS


def test_chapter_is_frozen():
    chapter = Chapter(1, 0, 60, "開会")
    with pytest.raises(AttributeError):
        chapter.title = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("video_id", "start", "expected"),
    [
        ("dQw4w9WgXcQ", 123, "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=123s"),
        ("abc-_DEF123", 0, "https://www.youtube.com/watch?v=abc-_DEF123&t=0s"),
    ],
)
def test_chapter_url(video_id, start, expected):
    assert chapter_url(video_id, start) == expected


def test_video_url():
    assert video_url("dQw4w9WgXcQ") == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


# --------------------------------------------------------------------------------------------
# API timestamps
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-04-01T09:00:00Z", "2022-04-01T09:00:00Z"),
        ("2022-04-01T09:00:00.123Z", "2022-04-01T09:00:00Z"),
        ("2022-04-01T09:00:00.999999Z", "2022-04-01T09:00:00Z"),
        ("2022-04-01T18:00:00+09:00", "2022-04-01T09:00:00Z"),
        ("2022-04-01T02:00:00-07:00", "2022-04-01T09:00:00Z"),
        ("2022-04-01T00:30:00+09:00", "2022-03-31T15:30:00Z"),
        ("2022-04-01T09:00:00", "2022-04-01T09:00:00Z"),  # no offset: taken as UTC
        (datetime(2022, 4, 1, 9, 0, 0, 500, tzinfo=UTC), "2022-04-01T09:00:00Z"),
        (
            datetime(2022, 4, 1, 18, 0, tzinfo=timezone(timedelta(hours=9))),
            "2022-04-01T09:00:00Z",
        ),
        (datetime(2022, 4, 1, 9, 0), "2022-04-01T09:00:00Z"),
        ("", None),
        (None, None),
    ],
)
def test_iso_utc(value, expected):
    assert iso_utc(value) == expected


def test_parse_iso_returns_aware_utc_seconds():
    assert parse_iso("2022-04-01T18:00:00.123+09:00") == datetime(2022, 4, 1, 9, 0, tzinfo=UTC)
    assert parse_iso(None) is None


@pytest.mark.parametrize("value", ["yesterday", "2022-13-01T00:00:00Z", "2022-04-01T25:00Z"])
def test_parse_iso_rejects_malformed(value):
    with pytest.raises(ValueError, match="ISO 8601 timestamp"):
        parse_iso(value)
