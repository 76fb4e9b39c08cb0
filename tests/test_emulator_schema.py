"""Every field the emulator returns must exist in the real API's discovery document, with the
JSON type the document gives it (the client library ships that document)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import googleapiclient
import pytest

from archivesync.emulator import (
    DEMO_API_KEY,
    Dataset,
    Emulator,
    default_sample_path,
    load_dataset,
    synthetic_dataset,
)

DISCOVERY = json.loads(
    (Path(googleapiclient.__file__).parent / "discovery_cache/documents/youtube.v3.json").read_text(
        encoding="utf-8"
    )
)
SCHEMAS = DISCOVERY["schemas"]
PARTS = {
    name: DISCOVERY["resources"][name]["methods"]["list"]
    for name in ("channels", "playlists", "playlistItems", "videos")
}
RESPONSE_SCHEMA = {
    "channels": "ChannelListResponse",
    "playlists": "PlaylistListResponse",
    "playlistItems": "PlaylistItemListResponse",
    "videos": "VideoListResponse",
    "videos:batchGetStats": "BatchGetStatsResponse",
}
# Values the real API sends although the discovery enum lacks them.
ENUM_EXTRAS = {("PlaylistItemStatus", "privacyStatus"): {"privacyStatusUnspecified"}}
_INTEGER_FORMATS = {"int32", "uint32"}
PROTOBUF_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")


def check(value: Any, schema: dict[str, Any], path: str, owner: str = "") -> list[str]:
    """Mismatches between a JSON value and a discovery schema, as readable paths."""
    if "$ref" in schema:
        name = schema["$ref"]
        return check(value, SCHEMAS[name], path, name)
    kind = schema.get("type")
    problems: list[str] = []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, member in value.items():
            if key in props:
                problems += check(member, props[key], f"{path}.{key}", owner)
            elif extra is not None:
                problems += check(member, extra, f"{path}.{key}", owner)
            else:
                problems.append(f"{path}.{key}: not in schema {owner or '(inline)'}")
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array, got {type(value).__name__}"]
        for i, item in enumerate(value):
            problems += check(item, schema["items"], f"{path}[{i}]", owner)
        return problems
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected integer, got {value!r}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected boolean, got {value!r}"]
    if kind == "string":
        if not isinstance(value, str):
            # uint64/int64 are strings on the wire: a number here is the classic mistake.
            return [f"{path}: expected string ({schema.get('format', 'text')}), got {value!r}"]
        fmt = schema.get("format")
        if fmt in ("uint64", "int64") and not value.lstrip("-").isdigit():
            problems.append(f"{path}: {fmt} string is not a number: {value!r}")
        if fmt in ("date-time", "google-datetime"):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"{path}: not a date-time: {value!r}")
        if fmt == "google-datetime" and not value.endswith("Z"):
            problems.append(f"{path}: a protobuf Timestamp is RFC 3339 in UTC (Z): {value!r}")
        if fmt == "google-duration" and not PROTOBUF_DURATION.match(value):
            problems.append(f"{path}: not a protobuf Duration such as '3723s': {value!r}")
        field = path.rsplit(".", 1)[-1]
        allowed = set(schema.get("enum", ())) | ENUM_EXTRAS.get((owner, field), set())
        if schema.get("enum") and value not in allowed:
            problems.append(f"{path}: {value!r} not in enum {sorted(allowed)}")
        return problems
    if kind == "any" or kind is None:
        return []
    return [f"{path}: unknown schema type {kind}"]


def test_checker_catches_type_and_name_mistakes():
    bad = {
        "kind": "youtube#videoListResponse",
        "pageInfo": {"totalResults": "5", "resultsPerPage": 5},
        "items": [
            {
                "id": "x",
                "statistics": {"viewCount": 12},
                "snippet": {"liveBroadcastContent": "sometimes", "titel": "typo"},
                "status": {"embeddable": "true"},
            }
        ],
    }
    problems = check(bad, {"$ref": "VideoListResponse"}, "$")
    assert len(problems) == 5, problems
    assert any("totalResults" in p for p in problems)
    assert any("viewCount" in p for p in problems)
    assert any("titel" in p for p in problems)
    assert any("sometimes" in p for p in problems)
    assert any("embeddable" in p for p in problems)


def all_parts(endpoint: str) -> str:
    # Every part the emulator serves for the endpoint; owner-only ones are omitted silently.
    from archivesync.emulator.api import PARTS as SERVED

    return ",".join(sorted(SERVED[endpoint]))


def get(emu: Emulator, endpoint: str, **params: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({**params, "key": DEMO_API_KEY})
    with urllib.request.urlopen(f"{emu.url}/youtube/v3/{endpoint}?{query}", timeout=10) as resp:
        return json.loads(resp.read())


def responses(ds: Dataset) -> list[tuple[str, dict[str, Any]]]:
    """One response per endpoint and filter, covering every playlist and every video."""
    out = []
    with Emulator(ds) as emu:
        channel = ds.channel_id
        out.append(("channels", get(emu, "channels", part=all_parts("channels"), id=channel)))
        out.append(("channels", get(emu, "channels", part="snippet", id="UCnone00000000000000000")))
        playlist_ids = ["UU" + channel[2:], *ds.playlist_ids()]
        for start in range(0, len(ds.playlist_ids()), 50):
            ids = ",".join(ds.playlist_ids()[start : start + 50])
            out.append(("playlists", get(emu, "playlists", part=all_parts("playlists"), id=ids)))
        out.append(
            ("playlists", get(emu, "playlists", part="snippet", channelId=channel, maxResults="2"))
        )
        small_page = get(
            emu, "playlistItems", part="id", playlistId=playlist_ids[0], maxResults="2"
        )
        out.append(("playlistItems", small_page))
        for playlist_id in playlist_ids[:30]:
            answer = get(
                emu,
                "playlistItems",
                part=all_parts("playlistItems"),
                playlistId=playlist_id,
                maxResults="50",
            )
            out.append(("playlistItems", answer))
        video_ids = ds.video_ids()
        for start in range(0, min(len(video_ids), 400), 50):
            ids = ",".join(video_ids[start : start + 50])
            out.append(("videos", get(emu, "videos", part=all_parts("videos"), id=ids)))
        # batchGetStats through the real client, which builds the call from the document.
        youtube = client(emu)
        for start in range(0, min(len(video_ids), 400), 50):
            request = youtube.videos().batchGetStats(
                id=video_ids[start : start + 50], part=["statistics", "contentDetails", "snippet"]
            )
            out.append(("videos:batchGetStats", request.execute()))
    return out


def client(emu: Emulator):
    from googleapiclient.discovery import build

    return build(
        "youtube",
        "v3",
        developerKey=DEMO_API_KEY,
        client_options={"api_endpoint": emu.url},
        static_discovery=True,
        cache_discovery=False,
    )


@pytest.fixture(scope="module", params=["sample", "synthetic"])
def dataset_responses(request: pytest.FixtureRequest) -> list[tuple[str, dict[str, Any]]]:
    if request.param == "sample":
        return responses(load_dataset(default_sample_path()))
    return responses(synthetic_dataset(400, seed=2))


def test_every_field_is_in_the_discovery_schema(dataset_responses):
    problems = []
    for endpoint, body in dataset_responses:
        problems += check(body, {"$ref": RESPONSE_SCHEMA[endpoint]}, endpoint)
    assert problems == []


def test_responses_cover_the_interesting_fields(dataset_responses):
    """Guard the schema check against passing because the responses were nearly empty."""
    seen: set[str] = set()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for v in value:
                walk(v, f"{path}[]")
        else:
            seen.add(path)

    for endpoint, body in dataset_responses:
        walk(body, endpoint)
    for needed in [
        "channels.items[].contentDetails.relatedPlaylists.uploads",
        "channels.items[].statistics.hiddenSubscriberCount",
        "playlists.items[].contentDetails.itemCount",
        "playlists.items[].player.embedHtml",
        "playlistItems.items[].snippet.position",
        "playlistItems.items[].contentDetails.videoPublishedAt",
        "playlistItems.items[].status.privacyStatus",
        "playlistItems.nextPageToken",
        "videos.items[].statistics.viewCount",
        "videos.items[].contentDetails.caption",
        "videos.items[].contentDetails.licensedContent",
        "videos.items[].liveStreamingDetails.scheduledStartTime",
        "videos.items[].snippet.thumbnails.maxres.width",
        "videos.items[].snippet.localized.title",
        "videos.items[].paidProductPlacementDetails.hasPaidProductPlacement",
        "videos.pageInfo.totalResults",
        "videos:batchGetStats.items[].statistics.viewCount",
        "videos:batchGetStats.items[].contentDetails.duration",
        "videos:batchGetStats.items[].snippet.publishTime",
    ]:
        assert needed in seen, needed


def test_error_bodies_have_the_google_shape():
    with Emulator(load_dataset(default_sample_path())) as emu:
        try:
            urllib.request.urlopen(
                f"{emu.url}/youtube/v3/playlistItems?part=id&playlistId=PLx&key={DEMO_API_KEY}",
                timeout=10,
            )
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
        else:
            pytest.fail("expected 404")
    error = body["error"]
    assert set(error) == {"code", "message", "errors", "status"}
    assert error["code"] == 404 and error["status"] == "NOT_FOUND"
    assert set(error["errors"][0]) >= {"message", "domain", "reason"}


def test_batch_get_stats_as_the_discovery_document_describes(sample_dataset):
    from googleapiclient.errors import HttpError

    method = DISCOVERY["resources"]["videos"]["methods"]["batchGetStats"]
    assert method["httpMethod"] == "GET" and method["path"] == "youtube/v3/videos:batchGetStats"
    ids = sample_dataset.video_ids()
    with Emulator(sample_dataset) as emu:
        youtube = client(emu)
        answer = (
            youtube.videos()
            .batchGetStats(id=[*ids[:3], "notAVideo00"], part=["statistics", "contentDetails"])
            .execute()
        )
        assert check(answer, {"$ref": "BatchGetStatsResponse"}, "$") == []
        assert answer["kind"] == "youtube#batchGetStatsResponse"
        # Not atomic: the unknown id is left out, the others answer; only the parts asked for.
        assert [i["id"] for i in answer["items"]] == ids[:3]
        assert {i["kind"] for i in answer["items"]} == {"youtube#videoStats"}
        assert all("snippet" not in i and "statistics" in i for i in answer["items"])
        assert any(i["contentDetails"].get("duration") for i in answer["items"])
        # Its own bucket: the default bucket is untouched.
        assert emu.units_spent() == 0 and emu.stats_units_spent() == 1
        with pytest.raises(HttpError) as too_many:
            youtube.videos().batchGetStats(
                id=[f"v{n:010d}" for n in range(51)], part=["statistics"]
            ).execute()
        assert too_many.value.resp.status == 400
        emu.stats_quota = emu.stats_units_spent()
        with pytest.raises(HttpError) as spent:
            youtube.videos().batchGetStats(id=ids[:1], part=["statistics"]).execute()
        body = json.loads(spent.value.content)["error"]
        assert spent.value.resp.status == 403 and body["errors"][0]["reason"] == "quotaExceeded"
        assert youtube.videos().list(part="id", id=ids[0]).execute()["items"]  # default: still fine
        for refusal in (403, 404):
            emu.batch_stats_refusal = refusal
            with pytest.raises(HttpError) as refused:
                youtube.videos().batchGetStats(id=ids[:1], part=["statistics"]).execute()
            assert refused.value.resp.status == refusal
