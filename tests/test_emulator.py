"""The YouTube API emulator, exercised through the real google-api-python-client over HTTP."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from archivesync.emulator import (
    DEMO_API_KEY,
    Dataset,
    Emulator,
    default_sample_path,
    load_dataset,
    synthetic_dataset,
)
from archivesync.emulator.cli import emulator_command
from archivesync.emulator.server import PACIFIC
from archivesync.emulator.synthetic import (
    DEFAULT_CHANNEL_ID,
    FORMS,
    chapter_form,
    expected_chapters,
)

CHANNEL = "UCX__Mlqfalo-NO1zAHhhuNw"
UPLOADS = "UU" + CHANNEL[2:]
ROUNDTABLE_PL = "PL-jXgjqpvR9sXa13UED7jXqpMmjB14Y4f"
LECTURES_PL = "PLWM273DbD5--4p5u_AD1vgzMAEMj6cjY6"
PICKS_PL = "PL6ELt9n_Ee2CNJZtMEbvFHU4ihJ6KLsVR"
FULL = "kD7mQx2LrVw"
HIDDEN_LIKES = "Lm0qW4zJd7g"
COMMENTS_OFF = "Gf1pR6yLk4x"
UPCOMING = "Wt7bZ0vCj2e"
PRIVATE = "Rk3mA8dYs1u"
DELETED = "Qe5xC2nWo9t"
ALL_VIDEO_PARTS = "snippet,contentDetails,statistics,status,liveStreamingDetails,player"

SAMPLE_DURATIONS = {
    "経験者が語る!自治体DXの進め方(全体版)": "PT1H23M21S",
    "1.自治体DXの意義や重要性を、自治体組織内に浸透させる方法は?": "PT13M56S",
    "2.リソース不足(ヒト、モノ、カネ)に、どう対処すれば良いか?": "PT14M55S",
    "3.組織文化の課題を、どう乗り越えるか?": "PT9M50S",
    "4.人材を育成するには": "PT7M2S",
    "5.民間の力を借りるコツは?": "PT5M27S",
    "6.管理職や幹部職員は、DXにどう向き合うべきか?": "PT11M54S",
    "7.多様な人材に活躍してもらうために": "PT22M14S",
    "地方自治体のデジタルトランスフォーメーション": "PT1H7M47S",
    "自治体情報システムの標準化・共通化 DXとオープンデータの活用について": "PT1H11M11S",
}


# ----------------------------------------------------------------------------- fixtures


def sample() -> Dataset:
    return load_dataset(default_sample_path())


@pytest.fixture(scope="module")
def server():
    with Emulator(sample()) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    """The shared server, reset to a fresh sample channel and default knobs."""
    server.dataset = sample()
    server.reset_stats()
    server.quota = 10_000
    server.api_keys = {DEMO_API_KEY}
    server.latency_ms = 0
    server.uploads_cap = None
    server.clock = lambda: datetime.now(PACIFIC)
    return server


def client(emu: Emulator, key: str = DEMO_API_KEY) -> Any:
    return build(
        "youtube",
        "v3",
        developerKey=key,
        client_options={"api_endpoint": emu.url},
        static_discovery=True,
    )


@pytest.fixture
def yt(emu: Emulator) -> Any:
    return client(emu)


def reason(exc: HttpError) -> str:
    return json.loads(exc.content)["error"]["errors"][0]["reason"]


def raw_get(emu: Emulator, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(emu.url + path, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def all_items(request_fn: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items, token = [], None
    while True:
        page = request_fn(pageToken=token, **kwargs).execute(num_retries=0)
        items += page.get("items", [])
        token = page.get("nextPageToken")
        if not token:
            return items


# ----------------------------------------------------------------------------- wiring


def test_client_requests_reach_the_emulator_without_the_key_in_the_log(emu, yt):
    answer = yt.channels().list(part="id", id=CHANNEL).execute()
    assert answer["items"][0]["id"] == CHANNEL
    [logged] = emu.requests
    assert logged["endpoint"] == "channels"
    assert logged["status"] == 200 and logged["units"] == 1
    assert "key" not in logged["params"] and logged["params"]["id"] == CHANNEL
    assert emu.calls("channels") == 1 and emu.calls("videos") == 0


def test_start_picks_a_free_loopback_port_and_stop_closes_it():
    emu = Emulator(sample()).start()
    url = emu.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and emu.port != 0
    status, _ = raw_get(emu, f"/youtube/v3/channels?part=id&id={CHANNEL}&key={DEMO_API_KEY}")
    assert status == 200
    emu.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/_emulator/stats", timeout=2)


# ----------------------------------------------------------------------------- channels


def test_channel_parts_and_uploads_playlist(yt):
    only_snippet = yt.channels().list(part="snippet", id=CHANNEL).execute()["items"][0]
    assert set(only_snippet) == {"kind", "etag", "id", "snippet"}
    assert only_snippet["snippet"]["title"].startswith("地方自治研究機構")
    full = yt.channels().list(part="snippet,contentDetails,statistics,status", id=CHANNEL)
    channel = full.execute()["items"][0]
    assert channel["contentDetails"]["relatedPlaylists"]["uploads"] == UPLOADS
    stats = channel["statistics"]
    # 11 public uploads: the roundtable, its 7 topics, 2 lectures, the upcoming stream.
    assert stats["videoCount"] == "11"
    assert isinstance(stats["viewCount"], str) and stats["hiddenSubscriberCount"] is False


@pytest.mark.parametrize("kwargs", [{"id": "UCnobody000000000000000"}, {"forHandle": "@nobody"}])
def test_empty_channels_answer_has_no_items_key(yt, kwargs):
    answer = yt.channels().list(part="snippet", **kwargs).execute()
    assert "items" not in answer
    assert answer["pageInfo"]["totalResults"] == 0


@pytest.mark.parametrize("handle", ["@rilg-jichiken", "RILG-JICHIKEN"])
def test_channel_by_handle_or_username(yt, handle):
    by_handle = yt.channels().list(part="id", forHandle=handle).execute()
    by_user = yt.channels().list(part="id", forUsername=handle.lstrip("@")).execute()
    assert by_handle["items"][0]["id"] == CHANNEL == by_user["items"][0]["id"]


# ----------------------------------------------------------------------------- paging


@pytest.fixture
def big(emu: Emulator) -> Dataset:
    emu.dataset = synthetic_dataset(120, seed=7)
    return emu.dataset


def test_default_page_size_is_five_and_tokens_walk_both_ways(yt, big):
    uploads = "UU" + big.channel_id[2:]
    first = yt.playlistItems().list(part="id,contentDetails", playlistId=uploads).execute()
    assert len(first["items"]) == 5 and first["pageInfo"]["resultsPerPage"] == 5
    assert "prevPageToken" not in first
    second = (
        yt.playlistItems()
        .list(part="contentDetails", playlistId=uploads, pageToken=first["nextPageToken"])
        .execute()
    )
    back = (
        yt.playlistItems()
        .list(part="contentDetails", playlistId=uploads, pageToken=second["prevPageToken"])
        .execute()
    )
    assert [i["id"] for i in back["items"]] == [i["id"] for i in first["items"]]
    ids = [i["contentDetails"]["videoId"] for i in first["items"] + second["items"]]
    assert ids == big.video_ids()[:10]


def test_fifty_per_page_covers_every_upload_once_newest_first(yt, big):
    uploads = "UU" + big.channel_id[2:]
    pages = []
    token = None
    while True:
        page = (
            yt.playlistItems()
            .list(part="snippet,contentDetails", playlistId=uploads, maxResults=50, pageToken=token)
            .execute()
        )
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            break
    assert [len(p["items"]) for p in pages] == [50, 50, 20]
    assert all(p["pageInfo"]["totalResults"] == 120 for p in pages)
    items = [i for p in pages for i in p["items"]]
    assert [i["contentDetails"]["videoId"] for i in items] == big.video_ids()
    assert [i["snippet"]["position"] for i in items] == list(range(120))
    published = [i["contentDetails"]["videoPublishedAt"] for i in items]
    assert published == sorted(published, reverse=True) and len(set(published)) == 120


def test_max_results_above_fifty_is_refused(yt):
    with pytest.raises(HttpError) as err:
        yt.playlistItems().list(part="id", playlistId=UPLOADS, maxResults=51).execute()
    assert err.value.resp.status == 400 and reason(err.value) == "invalidParameter"


@pytest.mark.parametrize("token", ["garbage!", "CAUQAg", "AAAA"])
def test_bad_page_token_is_invalid_page_token(yt, token):
    with pytest.raises(HttpError) as err:
        yt.playlistItems().list(part="id", playlistId=UPLOADS, pageToken=token).execute()
    assert err.value.resp.status == 400 and reason(err.value) == "invalidPageToken"


def test_playlists_by_channel_are_paged_and_exclude_uploads(yt, big):
    items = all_items(yt.playlists().list, part="snippet,contentDetails", channelId=big.channel_id)
    assert len(items) == 120 // 25
    assert all(i["id"].startswith("PL") and len(i["id"]) == 34 for i in items)
    assert all(i["contentDetails"]["itemCount"] > 0 for i in items)
    by_id = yt.playlists().list(part="id", id=items[0]["id"]).execute()
    assert [i["id"] for i in by_id["items"]] == [items[0]["id"]]


# ----------------------------------------------------------------------------- parameters


def test_missing_part_is_required_error(emu):
    status, body = raw_get(emu, f"/youtube/v3/videos?id={FULL}&key={DEMO_API_KEY}")
    assert status == 400
    assert body["error"]["errors"][0]["reason"] == "required"
    assert body["error"]["errors"][0]["location"] == "part"
    assert emu.units_spent(DEMO_API_KEY) == 1  # a failed call still costs its unit


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("part=snippet,bogus&id=x", "unknownPart"),
        ("part=snippet", "missingRequiredParameter"),
        ("part=snippet&id=x&chart=mostPopular", "incompatibleParameters"),
        ("part=snippet&id=x&colour=red", "badRequest"),
    ],
)
def test_parameter_errors(emu, query, expected):
    status, body = raw_get(emu, f"/youtube/v3/videos?{query}&key={DEMO_API_KEY}")
    assert status == 400 and body["error"]["errors"][0]["reason"] == expected
    assert body["error"]["status"] == "INVALID_ARGUMENT"


def test_fields_selects_members(yt):
    answer = yt.videos().list(part="snippet", id=FULL, fields="items(id,snippet/title)").execute()
    assert answer == {
        "items": [{"id": FULL, "snippet": {"title": "経験者が語る!自治体DXの進め方(全体版)"}}]
    }


# ----------------------------------------------------------------------------- keys & quota


def test_bad_key_is_api_key_invalid_and_free(emu):
    with pytest.raises(HttpError) as err:
        client(emu, key="not-a-key").videos().list(part="id", id=FULL).execute()
    assert err.value.resp.status == 400
    body = json.loads(err.value.content)["error"]
    assert body["errors"][0] == {
        "message": "API key not valid. Please pass a valid API key.",
        "domain": "global",
        "reason": "badRequest",
    }
    assert body["status"] == "INVALID_ARGUMENT"
    assert body["details"][0]["reason"] == "API_KEY_INVALID"
    assert body["details"][0]["metadata"] == {"service": "youtube.googleapis.com"}
    assert emu.units_spent() == 0


def test_missing_key_is_forbidden(emu):
    status, body = raw_get(emu, f"/youtube/v3/videos?part=id&id={FULL}")
    assert status == 403
    assert body["error"]["message"] == "The request is missing a valid API key."
    assert body["error"]["errors"][0]["reason"] == "forbidden"
    assert body["error"]["status"] == "PERMISSION_DENIED"


def test_extra_keys_are_accepted_and_ledgers_are_per_key(emu):
    emu.api_keys.add("second-key")
    client(emu, key="second-key").videos().list(part="id", id=FULL).execute()
    client(emu).videos().list(part="id", id=FULL).execute()
    client(emu).videos().list(part="id", id=FULL).execute()
    assert emu.units_spent("second-key") == 1
    assert emu.units_spent(DEMO_API_KEY) == 2
    assert emu.units_spent() == 3


def test_quota_exceeded_after_budget(emu, yt):
    emu.quota = 3
    for _ in range(3):
        yt.videos().list(part="id", id=FULL).execute()
    with pytest.raises(HttpError) as err:
        yt.videos().list(part="id", id=FULL).execute(num_retries=3)
    assert err.value.resp.status == 403 and reason(err.value) == "quotaExceeded"
    body = json.loads(err.value.content)["error"]
    assert body["errors"][0]["domain"] == "youtube.quota"
    assert "exceeded your" in body["message"]
    assert emu.units_spent(DEMO_API_KEY) == 3
    assert emu.calls("videos") == 4  # quotaExceeded is not retried by the client


@pytest.mark.dates
def test_quota_day_resets_at_pacific_midnight_not_utc(emu, yt):
    emu.quota = 1
    emu.clock = lambda: datetime.fromisoformat("2026-01-10T15:59:00+00:00")  # 07:59 PST
    yt.videos().list(part="id", id=FULL).execute()
    emu.clock = lambda: datetime.fromisoformat("2026-01-11T00:01:00+00:00")  # UTC day changed
    with pytest.raises(HttpError) as err:
        yt.videos().list(part="id", id=FULL).execute()
    assert reason(err.value) == "quotaExceeded"
    emu.clock = lambda: datetime.fromisoformat("2026-01-11T08:01:00+00:00")  # 00:01 PST
    yt.videos().list(part="id", id=FULL).execute()
    assert emu.units_spent(DEMO_API_KEY) == 1


def test_if_none_match_answers_304_and_costs_a_unit(emu, yt):
    first = yt.videos().list(part="snippet,statistics", id=FULL).execute()
    again = yt.videos().list(part="snippet,statistics", id=FULL)
    again.headers["If-None-Match"] = first["etag"]
    with pytest.raises(HttpError) as err:
        again.execute()
    assert err.value.resp.status == 304
    assert emu.units_spent() == 2 and emu.requests[-1]["status"] == 304
    emu.dataset.set_statistics(FULL, viewCount=99_999)
    changed = yt.videos().list(part="snippet,statistics", id=FULL)
    changed.headers["If-None-Match"] = first["etag"]
    assert changed.execute()["items"][0]["statistics"]["viewCount"] == "99999"


def test_etags_are_stable_and_content_sensitive(yt, emu):
    a = yt.videos().list(part="snippet", id=FULL).execute()
    b = yt.videos().list(part="snippet", id=FULL).execute()
    assert a["etag"] == b["etag"] and a["items"][0]["etag"] == b["items"][0]["etag"]
    emu.dataset.update_video(FULL, {"snippet.title": "新しいタイトル"})
    c = yt.videos().list(part="snippet", id=FULL).execute()
    assert c["items"][0]["etag"] != a["items"][0]["etag"] and c["etag"] != a["etag"]


# ----------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "status", "why"),
    [
        ("500", 500, "backendError"),
        ("503", 503, "backendError"),
        ("429", 429, "rateLimitExceeded"),
        ("rate_limit_403", 403, "rateLimitExceeded"),
        ("user_rate_limit_403", 403, "userRateLimitExceeded"),
        ("quota", 403, "quotaExceeded"),
    ],
)
def test_http_faults_reach_the_client(emu, yt, kind, status, why):
    emu.inject_fault(kind)
    with pytest.raises(HttpError) as err:
        yt.videos().list(part="id", id=FULL).execute(num_retries=0)
    assert err.value.resp.status == status and reason(err.value) == why
    assert yt.videos().list(part="id", id=FULL).execute()["items"][0]["id"] == FULL
    assert emu.units_spent() == 2  # the faulted call was charged too
    assert emu.requests[0]["fault"] == kind


def test_reset_fault_is_a_connection_reset(emu, yt):
    emu.inject_fault("reset")
    with pytest.raises(ConnectionError):
        yt.videos().list(part="id", id=FULL).execute(num_retries=0)
    assert yt.videos().list(part="id", id=FULL).execute()["items"][0]["id"] == FULL


def test_truncate_fault_cuts_the_body(emu, yt):
    emu.inject_fault("truncate")
    with pytest.raises((http.client.IncompleteRead, ValueError)):
        yt.videos().list(part="snippet", id=FULL).execute(num_retries=0)
    assert yt.videos().list(part="id", id=FULL).execute()["items"][0]["id"] == FULL


def test_faults_are_fifo_per_endpoint_with_counts(emu, yt):
    emu.inject_fault("503", endpoint="videos", count=2)
    emu.inject_fault("500")
    # The channels call skips the videos-only fault and takes the next matching one.
    with pytest.raises(HttpError) as err:
        yt.channels().list(part="id", id=CHANNEL).execute(num_retries=0)
    assert err.value.resp.status == 500
    for _ in range(2):
        with pytest.raises(HttpError) as err:
            yt.videos().list(part="id", id=FULL).execute(num_retries=0)
        assert err.value.resp.status == 503
    assert yt.videos().list(part="id", id=FULL).execute()["items"]
    assert emu.pending_faults() == 0


def test_client_retries_transient_faults_but_not_quota(emu, yt):
    emu.inject_fault("503", count=1)
    emu.inject_fault("rate_limit_403", count=1)
    emu.inject_fault("reset", count=1)
    req = yt.videos().list(part="id", id=FULL)
    req._sleep = lambda seconds: None  # the client's backoff would slow the test
    assert req.execute(num_retries=3)["items"][0]["id"] == FULL
    assert emu.calls("videos") == 4
    emu.inject_fault("quota")
    req = yt.videos().list(part="id", id=FULL)
    req._sleep = lambda seconds: None
    with pytest.raises(HttpError):
        req.execute(num_retries=3)
    assert emu.calls("videos") == 5


def test_inject_fault_validates(emu):
    with pytest.raises(ValueError):
        emu.inject_fault("418")
    with pytest.raises(ValueError):
        emu.inject_fault("500", endpoint="search")


def test_latency_is_added_per_request(emu, yt):
    emu.latency_ms = 150
    started = time.perf_counter()
    yt.videos().list(part="id", id=FULL).execute()
    assert time.perf_counter() - started >= 0.15


# ----------------------------------------------------------------------------- videos


def test_videos_list_leaves_out_deleted_and_private_ids(yt):
    ids = [FULL, DELETED, PRIVATE, "nosuchvideo", HIDDEN_LIKES]
    answer = yt.videos().list(part="id", id=",".join(ids)).execute()
    assert [i["id"] for i in answer["items"]] == [FULL, HIDDEN_LIKES]
    assert answer["pageInfo"] == {"totalResults": 2, "resultsPerPage": 2}


def test_more_than_fifty_ids_is_refused(yt):
    ids = ",".join(f"id{n:09d}" for n in range(51))
    with pytest.raises(HttpError) as err:
        yt.videos().list(part="id", id=ids).execute()
    assert err.value.resp.status == 400 and reason(err.value) == "invalidFilters"


def test_video_statistics_quirks(yt):
    answer = yt.videos().list(
        part="statistics,contentDetails", id=f"{FULL},{HIDDEN_LIKES},{COMMENTS_OFF}"
    )
    by_id = {v["id"]: v for v in answer.execute()["items"]}
    full = by_id[FULL]["statistics"]
    assert all(isinstance(v, str) for v in full.values()) and "likeCount" in full
    assert "likeCount" not in by_id[HIDDEN_LIKES]["statistics"]
    assert "commentCount" in by_id[HIDDEN_LIKES]["statistics"]
    assert "commentCount" not in by_id[COMMENTS_OFF]["statistics"]
    assert by_id[FULL]["contentDetails"]["caption"] == "true"
    assert by_id[COMMENTS_OFF]["contentDetails"]["caption"] == "false"


def test_upcoming_stream(yt):
    video = yt.videos().list(part=ALL_VIDEO_PARTS, id=UPCOMING).execute()["items"][0]
    assert video["snippet"]["liveBroadcastContent"] == "upcoming"
    assert video["contentDetails"]["duration"] == "P0D"
    assert video["liveStreamingDetails"]["scheduledStartTime"].endswith("Z")
    assert "player" in video and "embedHtml" in video["player"]
    without = yt.videos().list(part="snippet", id=UPCOMING).execute()["items"][0]
    assert "liveStreamingDetails" not in without and "contentDetails" not in without


# ----------------------------------------------------------------------------- playlists


def test_playlist_items_quirks(yt):
    items = all_items(
        yt.playlistItems().list, part="snippet,contentDetails,status", playlistId=PICKS_PL
    )
    assert [i["snippet"]["position"] for i in items] == list(range(7))
    titles = [i["snippet"]["title"] for i in items]
    assert titles.count("Deleted video") == 1 and titles.count("Private video") == 1
    deleted = items[titles.index("Deleted video")]
    assert deleted["snippet"]["description"] == "This video is unavailable."
    assert deleted["snippet"]["thumbnails"] == {}
    assert "videoPublishedAt" not in deleted["contentDetails"]
    assert "videoOwnerChannelId" not in deleted["snippet"]
    assert "videoOwnerChannelTitle" not in deleted["snippet"]
    private = items[titles.index("Private video")]
    assert private["snippet"]["description"] == "This video is private."
    assert private["status"]["privacyStatus"] == "private"
    twice = [i for i in items if i["contentDetails"]["videoId"] == FULL]
    assert len(twice) == 2 and twice[0]["id"] != twice[1]["id"]
    # publishedAt is when the entry was added, not when the video was published.
    assert twice[1]["snippet"]["publishedAt"] == "2022-06-10T02:00:00Z"
    assert twice[1]["contentDetails"]["videoPublishedAt"] == "2022-03-25T01:00:12Z"
    assert twice[1]["snippet"]["videoOwnerChannelId"] == CHANNEL


def test_unknown_playlist_is_playlist_not_found(yt):
    with pytest.raises(HttpError) as err:
        yt.playlistItems().list(part="id", playlistId="PLdoesnotexist").execute()
    assert err.value.resp.status == 404 and reason(err.value) == "playlistNotFound"


def test_playlist_item_lookup_by_id_and_video_filter(yt):
    first = yt.playlistItems().list(part="snippet", playlistId=PICKS_PL).execute()["items"][1]
    again = yt.playlistItems().list(part="snippet", id=first["id"]).execute()["items"]
    assert [i["id"] for i in again] == [first["id"]]
    dup = yt.playlistItems().list(part="id", playlistId=PICKS_PL, videoId=FULL).execute()
    assert dup["pageInfo"]["totalResults"] == 2


def test_sample_playlists(yt):
    listed = all_items(yt.playlists().list, part="snippet,contentDetails", channelId=CHANNEL)
    counts = {p["id"]: p["contentDetails"]["itemCount"] for p in listed}
    assert counts == {ROUNDTABLE_PL: 8, LECTURES_PL: 2, PICKS_PL: 7}
    assert UPLOADS not in counts
    series = all_items(yt.playlistItems().list, part="contentDetails", playlistId=ROUNDTABLE_PL)
    assert series[0]["contentDetails"]["videoId"] == FULL


# ----------------------------------------------------------------------------- mutations


def test_mutations_between_syncs(emu, yt):
    ds = emu.dataset
    ds.remove_video(HIDDEN_LIKES)
    assert yt.videos().list(part="id", id=HIDDEN_LIKES).execute()["items"] == []
    uploads = all_items(yt.playlistItems().list, part="contentDetails", playlistId=UPLOADS)
    assert HIDDEN_LIKES not in [i["contentDetails"]["videoId"] for i in uploads]
    series = all_items(yt.playlistItems().list, part="snippet", playlistId=ROUNDTABLE_PL)
    assert series[3]["snippet"]["title"] == "Deleted video"
    ds.restore_video(HIDDEN_LIKES)
    assert yt.videos().list(part="id", id=HIDDEN_LIKES).execute()["items"]

    ds.make_private(FULL)
    series = all_items(yt.playlistItems().list, part="snippet", playlistId=ROUNDTABLE_PL)
    assert series[0]["snippet"]["title"] == "Private video"

    ds.update_video(HIDDEN_LIKES, **{"snippet.title": "新タイトル"})
    ds.set_statistics(HIDDEN_LIKES, likeCount=5, commentCount=None)
    video = yt.videos().list(part="snippet,statistics", id=HIDDEN_LIKES).execute()["items"][0]
    assert video["snippet"]["title"] == video["snippet"]["localized"]["title"] == "新タイトル"
    assert video["statistics"]["likeCount"] == "5" and "commentCount" not in video["statistics"]

    ds.add_video({"id": "NewVideo123", "snippet": {"title": "新着動画"}})
    newest = yt.playlistItems().list(part="snippet", playlistId=UPLOADS, maxResults=1).execute()
    assert newest["items"][0]["snippet"]["resourceId"]["videoId"] == "NewVideo123"
    assert ds.video_ids()[0] == "NewVideo123"

    ds.set_playlist_items(LECTURES_PL, ["NewVideo123", {"videoId": DELETED, "state": "deleted"}])
    lectures = all_items(yt.playlistItems().list, part="snippet", playlistId=LECTURES_PL)
    assert [i["snippet"]["title"] for i in lectures] == ["新着動画", "Deleted video"]
    ds.remove_playlist(LECTURES_PL)
    with pytest.raises(HttpError):
        yt.playlistItems().list(part="id", playlistId=LECTURES_PL).execute()


def test_mutating_a_synthetic_video(yt, big):
    vid = big.video_ids()[10]
    big.update_video(vid, {"snippet.description": "変更後"})
    assert (
        yt.videos().list(part="snippet", id=vid).execute()["items"][0]["snippet"]["description"]
        == "変更後"
    )
    assert big.video_ids()[10] == vid


def test_dataset_json_roundtrip():
    ds = sample()
    again = Dataset.from_dict(json.loads(ds.to_json()))
    assert again.to_dict() == ds.to_dict()
    with pytest.raises(ValueError):
        Dataset.from_dict({**ds.to_dict(), "unavailable_video_ids": []})


# ----------------------------------------------------------------------------- feed


def feed(emu: Emulator, query: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"{emu.url}/feeds/videos.xml?{query}", timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


ATOM = {
    "a": "http://www.w3.org/2005/Atom",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "media": "http://search.yahoo.com/mrss/",
}


def test_atom_feed_lists_latest_fifteen_without_quota(emu, big):
    status, body = feed(emu, f"channel_id={big.channel_id}")
    assert status == 200
    root = ET.fromstring(body)
    entries = root.findall("a:entry", ATOM)
    assert [e.findtext("yt:videoId", namespaces=ATOM) for e in entries] == big.video_ids()[:15]
    first = entries[0]
    assert first.findtext("yt:channelId", namespaces=ATOM) == big.channel_id
    assert first.findtext("a:published", namespaces=ATOM).endswith("+00:00")
    assert first.find("media:group/media:title", ATOM).text == first.findtext(
        "a:title", namespaces=ATOM
    )
    assert emu.units_spent() == 0 and emu.calls("feed") == 1


def test_atom_feed_updated_moves_on_edit_and_unknown_channel_404(emu):
    _, before = feed(emu, f"channel_id={CHANNEL}")
    entries = ET.fromstring(before).findall("a:entry", ATOM)
    assert len(entries) == 11
    emu.dataset.update_video(FULL, {"snippet.title": "改題"})
    _, after = feed(emu, f"channel_id={CHANNEL}")
    entry = next(
        e
        for e in ET.fromstring(after).findall("a:entry", ATOM)
        if e.findtext("yt:videoId", namespaces=ATOM) == FULL
    )
    assert entry.findtext("a:title", namespaces=ATOM) == "改題"
    assert entry.findtext("a:updated", namespaces=ATOM) > entry.findtext(
        "a:published", namespaces=ATOM
    )
    assert feed(emu, "channel_id=UCnobody000000000000000")[0] == 404


# ----------------------------------------------------------------------------- control API


def test_http_control_api(emu, yt):
    post = urllib.request.Request(
        f"{emu.url}/_emulator/faults",
        data=json.dumps({"kind": "503", "endpoint": "videos", "count": 1}).encode(),
        method="POST",
    )
    urllib.request.urlopen(post, timeout=5).read()
    with pytest.raises(HttpError) as err:
        yt.videos().list(part="id", id=FULL).execute(num_retries=0)
    assert err.value.resp.status == 503
    status, stats = raw_get(emu, "/_emulator/stats")
    assert status == 200 and stats["calls"]["videos"] == 1
    assert stats["units"] == {DEMO_API_KEY: 1}
    urllib.request.urlopen(
        urllib.request.Request(f"{emu.url}/_emulator/reset", data=b"", method="POST"), timeout=5
    ).read()
    assert emu.requests == [] and emu.units_spent() == 0


def test_concurrent_clients(emu, big):
    errors: list[BaseException] = []
    uploads = "UU" + big.channel_id[2:]

    def sync() -> None:
        try:
            items = all_items(
                client(emu).playlistItems().list,
                part="contentDetails",
                playlistId=uploads,
                maxResults=50,
            )
            assert len(items) == 120
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and emu.calls("playlistItems") == 12


# ----------------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_and_seeded():
    a = synthetic_dataset(300, seed=3).to_json()
    assert a == synthetic_dataset(300, seed=3).to_json()
    assert a != synthetic_dataset(300, seed=4).to_json()


def test_synthetic_hundred_thousand_is_unique_and_newest_first():
    # Its speed is a benchmark's business (bench/), not a timed assertion here.
    ds = synthetic_dataset(100_000)
    ids = ds.video_ids()
    assert len(ids) == len(set(ids)) == 100_000
    stamps = [ds.video(v)["snippet"]["publishedAt"] for v in ids[:200:7]]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    assert len(ds.playlist_ids()) == 4000


_CHAPTER_RE = re.compile(
    r"^(?:【(?P<b>[\d:]+)】\S|(?P<a>[\d:]+)(?: - |[ \u3000])\S|\S.* (?P<t>[\d:]+)$)"
)


def _seconds(stamp: str) -> int:
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


def reference_chapters(description: str, duration: int) -> list[tuple[int, str]]:
    """A small independent chapter parser applying YouTube's rules, to check the generator."""
    found = []
    for line in description.translate(str.maketrans("０１２３４５６７８９：", "0123456789:")).split(
        "\n"
    ):
        m = _CHAPTER_RE.match(line)
        if m and re.fullmatch(r"\d{1,2}(:\d{2}){1,2}", m["a"] or m["b"] or m["t"]):
            stamp = m["a"] or m["b"] or m["t"]
            name = line.replace(f"【{stamp}】", "").replace(stamp, "").strip(" \u3000-")
            found.append((_seconds(stamp), name))
    starts = [s for s, _ in found]
    ends = [*starts[1:], duration]
    ok = (
        len(found) >= 3
        and starts[0] == 0
        and all(e - s >= 10 for s, e in zip(starts, ends, strict=True))
    )
    return found if ok else []


def _duration_seconds(iso: str) -> int:
    m = re.fullmatch(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?|0D)", iso)
    assert m, iso
    h, mi, s = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + s


def test_synthetic_chapter_forms_and_traps():
    ds = synthetic_dataset(1500, seed=11)
    forms, valid, invalid, time_of_day = set(), 0, 0, 0
    for vid in ds.video_ids():
        video = ds.video(vid)
        description = video["snippet"]["description"]
        duration = _duration_seconds(video["contentDetails"]["duration"])
        expected = expected_chapters(ds, vid)
        form = chapter_form(ds, vid)
        if re.search(r"\d{1,2}:\d{2}(から|に終了|開始)", description):
            time_of_day += 1
        if form is None:
            assert expected == []
            continue
        forms.add(form)
        assert reference_chapters(description, duration) == expected, vid
        if expected:
            valid += 1
            assert 3 <= len(expected) <= 15 and expected[-1][0] < duration
        else:
            invalid += 1
    assert forms == set(FORMS)
    assert valid > 400 and invalid > 40 and time_of_day > 100
    durations = [
        _duration_seconds(ds.video(v)["contentDetails"]["duration"]) for v in ds.video_ids()
    ]
    assert min(d for d in durations if d) >= 45 and max(durations) > 3 * 3600
    flags = [ds.video(v)["statistics"] for v in ds.video_ids()]
    assert 0 < sum("likeCount" not in s for s in flags) < 150
    assert 0 < sum("commentCount" not in s for s in flags) < 150
    upcoming = [
        v for v in ds.video_ids() if ds.video(v)["snippet"]["liveBroadcastContent"] == "upcoming"
    ]
    assert 1 <= len(upcoming) <= 5
    assert all(ds.video(v)["contentDetails"]["duration"] == "P0D" for v in upcoming)


def test_synthetic_playlists_have_duplicates_and_ghosts():
    ds = synthetic_dataset(2000, seed=5)
    entries = [e for p in ds.playlist_ids() for e in ds.playlist_items(p)]
    states = [e["state"] for e in entries]
    assert states.count("deleted") > 0 and states.count("private") > 0
    per_playlist = [ds.playlist_items(p) for p in ds.playlist_ids()]
    assert any(len({e["videoId"] for e in p}) < len(p) for p in per_playlist)
    assert 35 <= sum(len(p) for p in per_playlist) / len(per_playlist) <= 65


# ----------------------------------------------------------------------------- sample channel


def test_sample_channel_durations_and_descriptions(yt):
    uploads = all_items(yt.playlistItems().list, part="contentDetails", playlistId=UPLOADS)
    ids = [i["contentDetails"]["videoId"] for i in uploads]
    videos = yt.videos().list(part="snippet,contentDetails", id=",".join(ids)).execute()["items"]
    durations = {}
    for video in videos:
        for title in SAMPLE_DURATIONS:
            if title in video["snippet"]["title"]:
                durations[title] = video["contentDetails"]["duration"]
    assert durations == SAMPLE_DURATIONS
    by_id = {v["id"]: v for v in videos}
    full = by_id[FULL]["snippet"]["description"]
    for speaker in ("廣川 聡美", "大高 利夫", "本山 政志"):
        assert speaker in full
    chapters = reference_chapters(full, 5001)
    assert len(chapters) >= 8 and chapters[0][0] == 0
    for topic in list(SAMPLE_DURATIONS)[1:8]:
        assert any(topic in name for _, name in chapters), topic
    lectures = [
        v["snippet"]["description"] for v in videos if "庄司" in v["snippet"]["description"]
    ]
    assert any("令和3年11月8日" in d and "茨城県" in d for d in lectures)
    assert any("令和4年10月14日" in d and "広島県" in d for d in lectures)
    assert by_id[UPCOMING]["contentDetails"]["duration"] == "P0D"


# ----------------------------------------------------------------------------- CLI


def test_cli_first_line_names_the_sample_channel_and_given_keys(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archivesync.emulator.cli",
            "--port",
            "0",
            "--api-key",
            "k1",
            "--api-key",
            "k2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.endswith(
            " for channel UCX__Mlqfalo-NO1zAHhhuNw; accepts the 2 given with --api-key\n"
        ), line
        assert "k1" not in line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_cli_serves_until_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "archivesync.emulator.cli", "--port", "0", "--synthetic", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.fullmatch(
            r"emulator listening on (http://127\.0\.0\.1:\d+) for channel (UC\S+); "
            r"accepts key archivesync-demo-key\n",
            line,
        )
        assert m, line
        assert m[2] == DEFAULT_CHANNEL_ID
        assert proc.stdout.readline() == "no caption tracks\n"  # a generated channel has none
        with urllib.request.urlopen(m[1] + "/_emulator/stats", timeout=5) as resp:
            assert json.loads(resp.read())["quota"] == 10_000
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "args",
    [["--port", "-1"], ["--synthetic", "5", "--dataset", "x.json"], ["--quota", "many"]],
)
def test_cli_usage_errors(args):
    result = CliRunner().invoke(emulator_command, args)
    assert result.exit_code == 2, result.output


def test_cli_missing_dataset_file(tmp_path: Path):
    result = CliRunner().invoke(emulator_command, ["--dataset", str(tmp_path / "none.json")])
    assert result.exit_code == 1 and "no dataset" in result.output
