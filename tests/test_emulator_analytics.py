"""The emulator's YouTube Analytics API, driven by the real google-api-python-client."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from archivesync.emulator import Emulator, load_dataset, oauth, synthetic_dataset
from archivesync.emulator.analytics import LAG_DAYS, REVISION

from .helpers import SAMPLE, SAMPLE_CHANNEL

# The API's lag and revisions are decided by date: also run a year ahead (make test).
pytestmark = pytest.mark.dates

TODAY = date(2026, 11, 28)
ROUNDTABLE = "kD7mQx2LrVw"  # 5,001 s, 7 parts between an opening and an ending
PRIVATE = "Rk3mA8dYs1u"  # no views at all


def at(day: date):
    return lambda: datetime(day.year, day.month, day.day, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def emu():
    with Emulator(load_dataset(SAMPLE)) as emu:
        emu.clock = at(TODAY)
        yield emu


def service(emu, scopes=(oauth.ANALYTICS_SCOPE,), channel=SAMPLE_CHANNEL):
    refresh = emu.oauth.issue(channel, scopes)
    credentials = Credentials(
        None,
        refresh_token=refresh,
        token_uri=emu.url + oauth.TOKEN_PATH,
        client_id=oauth.DEMO_CLIENT_ID,
        client_secret=oauth.DEMO_CLIENT_SECRET,
        scopes=list(scopes),
    )
    return build(
        "youtubeAnalytics",
        "v2",
        credentials=credentials,
        client_options={"api_endpoint": emu.url},
        static_discovery=True,
        cache_discovery=False,
    )


@pytest.fixture(scope="module")
def yta(emu):
    return service(emu)


def query(yta, **params):
    params.setdefault("ids", "channel==MINE")
    return yta.reports().query(**params).execute()


def error_of(excinfo) -> dict:
    return json.loads(excinfo.value.content)["error"]


DAILY = "views,estimatedMinutesWatched,averageViewDuration,averageViewPercentage,likes"


def test_daily_report_shape_lag_and_publication(yta):
    body = query(
        yta,
        startDate="2022-03-20",
        endDate=TODAY.isoformat(),
        metrics=DAILY,
        dimensions="day",
        filters=f"video=={ROUNDTABLE}",
    )
    assert body["kind"] == "youtubeAnalytics#resultTable"
    assert body["columnHeaders"][:3] == [
        {"name": "day", "columnType": "DIMENSION", "dataType": "STRING"},
        {"name": "views", "columnType": "METRIC", "dataType": "INTEGER"},
        {"name": "estimatedMinutesWatched", "columnType": "METRIC", "dataType": "INTEGER"},
    ]
    assert body["columnHeaders"][4]["dataType"] == "FLOAT"
    days = [row[0] for row in body["rows"]]
    # Published 2022-03-24 17:00 Pacific; the newest day with data is LAG_DAYS ago.
    assert days[0] == "2022-03-24"
    assert days[-1] == (TODAY - timedelta(days=LAG_DAYS)).isoformat()
    span = (date.fromisoformat(days[-1]) - date(2022, 3, 24)).days + 1
    assert len(days) == len(set(days)) == span
    views = [row[1] for row in body["rows"]]
    assert all(isinstance(v, int) and v >= 0 for v in views)
    # Lifetime views land near the Data API's viewCount (3,184) and the launch week is busiest.
    assert 2000 < sum(views) < 6000
    assert max(views) == max(views[:7])
    for _, v, minutes, duration, percentage, likes in body["rows"]:
        assert 0 <= percentage <= 100 and 0 <= duration <= 5001 and likes <= v
        assert minutes == round(v * duration / 60)


def test_same_query_same_answer_and_revisions_settle(emu, yta):
    params = dict(
        startDate=(TODAY - timedelta(days=10)).isoformat(),
        endDate=TODAY.isoformat(),
        metrics="views",
        dimensions="day",
        filters=f"video=={ROUNDTABLE}",
    )
    first = query(yta, **params)
    assert query(yta, **params) == first
    emu.clock = at(TODAY + timedelta(days=5))
    try:
        later = dict(map(tuple, query(yta, **params)["rows"]))
    finally:
        emu.clock = at(TODAY)
    before = dict(map(tuple, first["rows"]))
    newest = max(before)
    assert set(before) < set(later)
    # Days older than the revision window do not change; the newest ones only grow.
    old = [d for d in before if (TODAY - date.fromisoformat(d)).days > max(REVISION)]
    assert old and all(before[d] == later[d] for d in old)
    assert all(later[d] >= before[d] for d in before)
    assert newest in before and REVISION[LAG_DAYS] < 1


def test_channel_daily_is_the_sum_of_its_videos(yta):
    window = dict(startDate="2022-03-24", endDate="2022-04-05", metrics="views,likes")
    channel = query(yta, dimensions="day", **window)["rows"]
    total = {d: [0, 0] for d, *_ in channel}
    for video in ("kD7mQx2LrVw", "Xa3vN8pQe1s", "bR5tY2uHc9k", "Lm0qW4zJd7g", "Pz8cF1sKv3n",
                  "Hy6eT9rBw2m", "Jq4nU7xDa5f", "Vc2kS5gMz8p", "Ns9wE3hTq6b"):  # fmt: skip
        for d, views, likes in query(yta, dimensions="day", filters=f"video=={video}", **window)[
            "rows"
        ]:
            total[d][0] += views
            total[d][1] += likes
    assert [[d, *total[d]] for d, *_ in channel] == channel
    assert query(yta, **window)["rows"] == [
        [sum(r[1] for r in channel), sum(r[2] for r in channel)]
    ]


def test_retention_falls_and_marks_chapter_starts(yta):
    body = query(
        yta,
        startDate="2022-03-24",
        endDate=TODAY.isoformat(),
        metrics="audienceWatchRatio,relativeRetentionPerformance",
        dimensions="elapsedVideoTimeRatio",
        filters=f"video=={ROUNDTABLE}",
    )
    assert [h["name"] for h in body["columnHeaders"]] == [
        "elapsedVideoTimeRatio",
        "audienceWatchRatio",
        "relativeRetentionPerformance",
    ]
    rows = body["rows"]
    assert [r[0] for r in rows] == [round(k / 100, 2) for k in range(1, 101)]
    ratios = [r[1] for r in rows]
    assert ratios[0] > 0.5 and ratios[0] > 3 * min(ratios)
    assert sum(ratios[:10]) > sum(ratios[45:55]) > sum(ratios[85:95])
    assert all(0 <= r[2] <= 1 for r in rows)
    # Some chapter start (105, 910, 1768, 2330, 2730, 3040, 3725, 4950 s) changes the curve
    # by more than the slow decline does between two points.
    steps = [abs(ratios[k] - ratios[k - 1]) for k in range(20, 100)]
    assert max(steps) > 0.02


def test_retention_withheld_for_too_few_views(yta):
    for video in (PRIVATE, ROUNDTABLE):
        start = "2022-03-24" if video == PRIVATE else "2026-11-20"
        body = query(
            yta,
            startDate=start,
            endDate="2026-11-26",
            metrics="audienceWatchRatio",
            dimensions="elapsedVideoTimeRatio",
            filters=f"video=={video}",
        )
        assert "rows" not in body and body["columnHeaders"][1]["name"] == "audienceWatchRatio"


@pytest.mark.parametrize(
    "params, status, reason, message",
    [
        (dict(metrics="views", dimensions="elapsedVideoTimeRatio", filters=f"video=={ROUNDTABLE}"),
         400, "badRequest", "The query is not supported."),
        (dict(metrics="audienceWatchRatio", dimensions="elapsedVideoTimeRatio"),
         400, "badRequest", "The query is not supported."),
        (dict(metrics="audienceWatchRatio", dimensions="day", filters=f"video=={ROUNDTABLE}"),
         400, "badRequest", "The query is not supported."),
        (dict(metrics="views", dimensions="video"),
         400, "badRequest", "The query is not supported."),
        (dict(metrics="views", dimensions="day", filters="country==JP"),
         400, "badRequest", "The query is not supported."),
        (dict(metrics="views,impressions", dimensions="day"),
         400, "badRequest", "Unknown identifier (impressions) given in field parameters.metrics."),
        (dict(metrics="views", dimensions="week"),
         400, "badRequest", "Unknown identifier (week) given in field parameters.dimensions."),
        (dict(metrics="views", startDate="2026/11/01"), 400, "invalidParameter",
         "Invalid value '2026/11/01'. Values must match the following regular expression: "
         "'[0-9]{4}-[0-9]{2}-[0-9]{2}'"),
        (dict(metrics="views", startDate="2026-11-20", endDate="2026-11-01"),
         400, "invalidParameter",
         "Invalid value (2026-11-20) given in field parameters.startDate."),
        (dict(metrics="views", ids="channel==UCsomeoneelse000000000"),
         403, "forbidden", "Forbidden"),
        (dict(metrics="views", dimensions="day", filters="video==dQw4w9WgXcQ"),
         403, "forbidden", "Forbidden"),
        (dict(metrics=""), 400, "required", "Required"),
    ],
)  # fmt: skip
def test_rules_and_errors_as_the_real_api_words_them(yta, params, status, reason, message):
    params = {"startDate": "2026-11-01", "endDate": "2026-11-26", **params}
    with pytest.raises(HttpError) as excinfo:
        query(yta, **params)
    err = error_of(excinfo)
    assert excinfo.value.resp.status == status
    assert err["errors"][0]["reason"] == reason
    assert err["message"].startswith(message)


def test_top_videos_report(yta):
    body = query(
        yta,
        startDate="2022-01-01",
        endDate="2026-11-26",
        metrics="views,estimatedMinutesWatched",
        dimensions="video",
        sort="-views",
        maxResults=3,
    )
    views = [r[1] for r in body["rows"]]
    assert len(views) == 3 and views == sorted(views, reverse=True)


def test_bearer_checks(emu, yta):
    captions_only = service(emu, scopes=(oauth.FORCE_SSL_SCOPE,))
    with pytest.raises(HttpError) as excinfo:
        query(captions_only, startDate="2026-11-01", endDate="2026-11-26", metrics="views")
    assert excinfo.value.resp.status == 403
    assert error_of(excinfo)["errors"][0]["reason"] == "insufficientPermissions"
    no_token = build(
        "youtubeAnalytics",
        "v2",
        developerKey="archivesync-demo-key",
        client_options={"api_endpoint": emu.url},
        static_discovery=True,
        cache_discovery=False,
    )
    with pytest.raises(HttpError) as excinfo:
        query(no_token, startDate="2026-11-01", endDate="2026-11-26", metrics="views")
    assert excinfo.value.resp.status == 401
    # Another channel's owner may not read this one's videos.
    other = service(emu, channel="UCsomeoneelse000000000")
    with pytest.raises(HttpError) as excinfo:
        query(other, startDate="2026-11-01", endDate="2026-11-26", metrics="views",
              dimensions="day", filters=f"video=={ROUNDTABLE}")  # fmt: skip
    assert excinfo.value.resp.status == 403


def test_faults_and_own_quota(emu, yta):
    params = dict(startDate="2026-11-01", endDate="2026-11-26", metrics="views")
    spent_before = emu.units_spent()
    emu.inject_fault("503", endpoint="reports")
    with pytest.raises(HttpError) as excinfo:
        query(yta, **params)
    assert excinfo.value.resp.status == 503
    assert query(yta, **params)["rows"]
    quota = emu.analytics_quota
    emu.analytics_quota = emu.analytics_queries()
    try:
        with pytest.raises(HttpError) as excinfo:
            query(yta, **params)
        assert error_of(excinfo)["errors"][0]["reason"] == "quotaExceeded"
    finally:
        emu.analytics_quota = quota
    assert emu.units_spent() == spent_before  # the Data API's quota is another budget


def test_synthetic_channel_has_figures():
    ds = synthetic_dataset(30, seed=3)
    with Emulator(ds) as emu:
        emu.clock = at(date(2025, 10, 10))
        yta = service(emu, channel=ds.channel_id)
        body = query(yta, startDate="2025-01-01", endDate="2025-10-08", metrics="views",
                     dimensions="month")  # fmt: skip
        assert [r[0] for r in body["rows"]][:2] == ["2025-01", "2025-02"]
        assert sum(r[1] for r in body["rows"]) > 0
        chaptered = next(
            v
            for v in ds.owned_video_ids(ds.channel_id)
            if len(emu.analytics.model(v).chapters) >= 3
        )
        body = query(yta, startDate="2015-01-01", endDate="2025-10-08",
                     metrics="audienceWatchRatio", dimensions="elapsedVideoTimeRatio",
                     filters=f"video=={chaptered}")  # fmt: skip
        assert len(body["rows"]) == 100


def test_broken_bodies_and_connections(emu, yta):
    # What the client sees; archivesync's client retries them (tests/test_analytics.py).
    params = dict(startDate="2026-11-01", endDate="2026-11-26", metrics="views")
    emu.inject_fault("html_200", endpoint="reports")
    assert query(yta, **params).startswith("<!DOCTYPE html>")
    emu.inject_fault("reset", endpoint="reports")
    with pytest.raises(ConnectionResetError):
        query(yta, **params)
    assert query(yta, **params)["rows"]
