"""A loopback HTTP server that answers like the YouTube Data API v3.

Point google-api-python-client at it unchanged::

    with Emulator(load_dataset(path)).start() as emu:
        yt = build("youtube", "v3", developerKey=DEMO_API_KEY,
                   client_options={"api_endpoint": emu.url}, static_discovery=True)

Order of checks for ``/youtube/v3/<endpoint>``, as the real frontend does them:

1. API key: missing → 403 ``forbidden``; not accepted → 400 ``API_KEY_INVALID``.
   Neither costs quota (no project to charge).
2. Quota: once a key has spent ``quota`` units this Pacific-time day, 403 ``quotaExceeded``
   (not charged: the refusal is free).
3. One unit is charged. Every later outcome keeps it: injected faults (all kinds, ``reset``
   included, since the real server cannot tell whether a cut connection did the work),
   parameter errors, 404s and 304s.
4. Injected fault, if one matches; then ``latency_ms``; then the list call itself, with
   ``If-None-Match`` answered 304 when it equals the list etag.

Fault kinds: HTTP errors (``500``, ``503``, ``429``, ``rate_limit_403``,
``user_rate_limit_403``, ``quota``); broken connections (``reset``: an RST instead of an
answer; ``truncate``: the body cut off below its Content-Length); and 200 answers whose body is
whole but wrong, as proxies and captive portals send them (``short_200``: the JSON cut in half
with a matching Content-Length; ``html_200``: an HTML page; ``empty_200``: no body;
``array_200``: a JSON array; ``string_200``: a JSON string).

``/youtube/v3/captions`` and ``/youtube/v3/captions/<id>`` (captions.list, captions.download)
need an OAuth Bearer token instead of a key (see ``oauth`` and ``captions``): the token is
checked first (401/403, free), then the method's cost (50 / 200 units) is charged to the
token's OAuth client, then faults (endpoint ``"captions"``) and the answer. The OAuth server
itself answers ``/o/oauth2/auth``, ``/token`` and ``/revoke``.

``/v2/reports`` is the YouTube Analytics API (``build("youtubeAnalytics", "v2")`` with the same
``api_endpoint``; see ``analytics``): the Bearer token is checked first (401/403, free), then one
query is charged to the token's OAuth client against ``analytics_quota`` (its own daily budget,
separate from the Data API's), then faults (endpoint ``"reports"``), ``latency_ms`` and the query.

``/feeds/videos.xml`` needs no key and costs nothing. ``/_emulator/...`` is the control API for
a separate process: ``GET stats``, ``POST faults`` (``{"kind", "endpoint", "count"}``),
``POST reset``, ``POST config`` (``{"latency_ms", "quota", "api_keys", "stats_quota",
"batch_stats_refusal"}``).

``/youtube/v3/videos:batchGetStats`` (see ``batch_stats``) follows the same order of checks but
charges its own bucket (``stats_quota`` calls a day per key); ``batch_stats_refusal`` (403 or
404) makes it answer as for a project that has not enabled it, or a method that is gone.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from . import analytics as analytics_errors
from . import batch_stats, errors, fields, oauth
from . import captions as captions_api
from .analytics import REPORTS_PATH, Analytics
from .api import ENDPOINTS, etag, list_response
from .captions import Captions
from .dataset import Dataset
from .feed import channel_feed, playlist_feed

DEMO_API_KEY = "archivesync-demo-key"
PACIFIC = ZoneInfo("America/Los_Angeles")
# 200 answers whose body is complete but not the JSON object the call returns.
BODY_FAULTS = ("short_200", "html_200", "empty_200", "array_200", "string_200")
FAULT_KINDS = (
    "500",
    "503",
    "429",
    "rate_limit_403",
    "user_rate_limit_403",
    "reset",
    "truncate",
    "quota",
    *BODY_FAULTS,
)
FEED = "feed"
CAPTIONS = "captions"
REPORTS = "reports"
ANALYTICS_SCOPES = (oauth.ANALYTICS_SCOPE, oauth.ANALYTICS_MONETARY_SCOPE)
CAPTION_SCOPES = (oauth.FORCE_SSL_SCOPE, oauth.YOUTUBEPARTNER_SCOPE)
_JSON = "application/json; charset=UTF-8"
_PORTAL_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head>"
    b"<body><p>Please accept the terms to continue.</p></body></html>"
)


@dataclass
class _Fault:
    kind: str
    endpoint: str | None
    remaining: int


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None  # "reset" / "truncate": how to break the connection


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _etag_matches(header: str | None, current: str) -> bool:
    if not header:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == current:
            return True
    return False


class Emulator:
    """The YouTube Data API v3 emulator; see the module docstring for its rules.

    Introspection for tests: ``requests`` (one dict per API/feed request: endpoint, params
    without the key, status, units, fault), ``units_spent(key)``, ``calls(endpoint)``,
    ``reset_stats()``. Mutable knobs: ``quota``, ``api_keys``, ``latency_ms``, ``dataset``,
    ``uploads_cap`` (truncate uploads listings, as the real API does near 20,000 items),
    ``clock`` (returns an aware datetime; decides the Pacific-time quota day), ``captions``
    (caption tracks; ``captions.refuse_asr``), ``oauth`` (the OAuth server; its
    ``consent_channel`` defaults to the dataset's first channel), ``analytics_quota``
    (Analytics queries a day per OAuth client), ``min_retention_views`` (fewer views in a
    range: no retention rows).
    """

    def __init__(
        self,
        dataset: Dataset,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        quota: int = 10_000,
        api_keys: Iterable[str] | None = None,
        uploads_cap: int | None = None,
        captions: Captions | None = None,
        oauth_provider: oauth.OAuthProvider | None = None,
        analytics_quota: int = 100_000,
    ):
        self.dataset = dataset
        self.captions = captions if captions is not None else Captions()
        self.oauth = oauth_provider or oauth.OAuthProvider(consent_channel=dataset.channel_id)
        self.analytics_quota = analytics_quota
        self.min_retention_views = Analytics(dataset).min_retention_views
        self._analytics: Analytics | None = None
        self._analytics_ledger: Counter[tuple[str, date]] = Counter()
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.quota = quota
        # videos.batchGetStats: its own bucket (calls a day per key), and a switch that makes
        # it answer 403 (not enabled for the project) or 404 (gone) for the fallback.
        self.stats_quota = 10_000
        self.batch_stats_refusal: int | None = None
        self._stats_ledger: Counter[tuple[str, date]] = Counter()
        self.api_keys: set[str] = set(api_keys) if api_keys is not None else {DEMO_API_KEY}
        self.uploads_cap = uploads_cap
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._ledger: Counter[tuple[str, date]] = Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        """Start serving in a background thread; returns self."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"youtube-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give the client as its API endpoint."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    # ------------------------------------------------------------------ faults & stats

    def inject_fault(self, kind: str, endpoint: str | None = None, count: int = 1) -> None:
        """Queue ``count`` faults; each later matching request consumes one, FIFO.

        ``endpoint`` None matches any of the four API endpoints; ``"feed"`` targets the Atom
        feed (only ``"500"``/``"503"``/``"reset"``/``"truncate"`` and the ``*_200`` kinds make
        sense there).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}: {kind!r}")
        if endpoint is not None and endpoint not in (*ENDPOINTS, FEED, CAPTIONS, REPORTS):
            raise ValueError(
                f"endpoint must be one of {(*ENDPOINTS, FEED, CAPTIONS, REPORTS)}: {endpoint!r}"
            )
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(_Fault(kind, endpoint, count))

    def clear_faults(self) -> None:
        """Drop every fault not yet met."""
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        """How many injected faults are still to be met."""
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def _take_fault(self, endpoint: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint == endpoint or (fault.endpoint is None and endpoint != FEED):
                    fault.remaining -= 1
                    if not fault.remaining:
                        self._faults.remove(fault)
                    return fault.kind
        return None

    def quota_day(self) -> date:
        """Today's quota day (Pacific time)."""
        return self.clock().astimezone(PACIFIC).date()

    def units_spent(self, key: str | None = None) -> int:
        """Units spent today (Pacific time) by ``key``, or by all keys."""
        today = self.quota_day()
        with self._lock:
            return sum(
                n for (k, day), n in self._ledger.items() if day == today and key in (None, k)
            )

    def calls(self, endpoint: str | None = None) -> int:
        """How many requests an endpoint (or all) has received."""
        with self._lock:
            return sum(1 for r in self.requests if endpoint in (None, r["endpoint"]))

    def reset_stats(self) -> None:
        """Forget requests, spent quota and pending faults."""
        with self._lock:
            self.requests.clear()
            self._ledger.clear()
            self._stats_ledger.clear()
            self._analytics_ledger.clear()
            self._faults.clear()

    def stats(self) -> dict[str, Any]:
        """Calls, units and knobs, as `GET /_emulator/stats` reports them."""
        today = self.quota_day()
        with self._lock:
            calls = Counter(r["endpoint"] for r in self.requests)
            units = {k: n for (k, day), n in self._ledger.items() if day == today}
            return {
                "calls": {
                    e: calls.get(e, 0)
                    for e in (*ENDPOINTS, batch_stats.ENDPOINT, FEED, CAPTIONS, REPORTS)
                },
                "stats_units": {k: n for (k, day), n in self._stats_ledger.items() if day == today},
                "units": units,
                "units_total": sum(units.values()),
                "quota": self.quota,
                "quota_day": today.isoformat(),
                "requests": len(self.requests),
                "faults_pending": sum(f.remaining for f in self._faults),
                "latency_ms": self.latency_ms,
            }

    def _record(
        self, endpoint: str, params: Mapping[str, str], status: int, units: int, fault: str | None
    ) -> None:
        entry = {
            "endpoint": endpoint,
            "params": dict(params),
            "status": status,
            "units": units,
            "fault": fault,
        }
        with self._lock:
            self.requests.append(entry)

    def _charge(self, key: str, units: int = 1, *, bucket: str = "default") -> bool:
        """Spend ``units``; False (and nothing spent) when the day's budget cannot pay them."""
        day = self.quota_day()
        ledger, limit = (
            (self._stats_ledger, self.stats_quota)
            if bucket == batch_stats.ENDPOINT
            else (self._ledger, self.quota)
        )
        with self._lock:
            if ledger[(key, day)] + units > limit:
                return False
            ledger[(key, day)] += units
            return True

    def stats_units_spent(self, key: str | None = None) -> int:
        """Units of the videos.batchGetStats bucket spent today by ``key``, or by all keys."""
        today = self.quota_day()
        with self._lock:
            return sum(
                n for (k, day), n in self._stats_ledger.items() if day == today and key in (None, k)
            )

    def _sleep(self) -> None:
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)

    # ------------------------------------------------------------------ request handling

    def serve_api(
        self, endpoint: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str]
    ) -> _Answer:
        """Answer one list request (see the module docstring for the order of checks)."""
        query = list(query)
        params: dict[str, str] = {}
        for name, value in query:
            # Repeated parameters (the client sends part=a&part=b for lists) mean a comma list.
            params[name] = f"{params[name]},{value}" if name in params else value
        key = params.pop("key", None) or headers.get("X-Goog-Api-Key")
        if not key:
            return self._refuse(endpoint, params, errors.missing_key(), 0)
        if key not in self.api_keys:
            return self._refuse(endpoint, params, errors.invalid_key(), 0)
        if endpoint == batch_stats.ENDPOINT:
            if self.batch_stats_refusal == 403:
                return self._refuse(endpoint, params, batch_stats.not_enabled(), 0)
            if self.batch_stats_refusal == 404:
                return self._refuse(endpoint, params, batch_stats.gone(), 0)
            if not self._charge(key, bucket=endpoint):
                return self._refuse(endpoint, params, batch_stats.quota_exceeded(), 0)

            def answer_call() -> _Answer:
                return self._answer_batch_stats(query)
        else:
            if not self._charge(key):
                return self._refuse(endpoint, params, errors.quota_exceeded(), 0)

            def answer_call() -> _Answer:
                return self._answer_list(endpoint, params, headers)

        fault = self._take_fault(endpoint)
        self._sleep()
        if fault in ("reset", "truncate"):
            answer = answer_call()
            answer.action = fault
            self._record(endpoint, params, answer.status, 1, fault)
            return answer
        if fault in BODY_FAULTS:
            answer = _bad_body(answer_call(), fault)
            self._record(endpoint, params, answer.status, 1, fault)
            return answer
        if fault is not None:
            return self._refuse(endpoint, params, errors.fault_error(fault), 1, fault)
        answer = answer_call()
        self._record(endpoint, params, answer.status, 1, None)
        return answer

    def _answer_batch_stats(self, query: list[tuple[str, str]]) -> _Answer:
        try:
            body = batch_stats.batch_get_stats(self.dataset, query)
        except errors.ApiError as err:
            return _Answer(err.code, _json_bytes(err.body))
        return _Answer(200, _json_bytes(body))

    def _refuse(
        self,
        endpoint: str,
        params: Mapping[str, str],
        err: errors.ApiError,
        units: int,
        fault: str | None = None,
    ) -> _Answer:
        self._record(endpoint, params, err.code, units, fault)
        return _Answer(err.code, _json_bytes(err.body))

    def _answer_list(
        self, endpoint: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> _Answer:
        try:
            body = list_response(self.dataset, endpoint, params, uploads_cap=self.uploads_cap)
            selection = fields.parse(params["fields"]) if params.get("fields") else None
        except errors.ApiError as err:
            return _Answer(err.code, _json_bytes(err.body))
        except fields.FieldsError as exc:
            err = errors.error(
                400, "invalidParameter", f"Invalid field selection {exc}", location="fields"
            )
            return _Answer(err.code, _json_bytes(err.body))
        tag = body["etag"]
        if _etag_matches(headers.get("If-None-Match"), tag):
            return _Answer(304, headers={"ETag": f'"{tag}"'})
        if selection is not None:
            body = fields.apply(body, selection)
        return _Answer(200, _json_bytes(body), headers={"ETag": f'"{tag}"'})

    def _owner(self, video_id: str) -> str | None:
        """The channel owning a video the owner can see (private too), or None."""
        with self.dataset.lock:
            res = self.dataset.video(video_id)
            if res is None or self.dataset.video_state(video_id) == "deleted":
                return None
            return res["snippet"]["channelId"]

    def serve_captions(
        self, caption_id: str | None, query: Iterable[tuple[str, str]], headers: Mapping[str, str]
    ) -> _Answer:
        """captions.list (``caption_id`` None) or captions.download, behind OAuth."""
        params = dict(query)
        record = dict(params, **({"id": caption_id} if caption_id else {}))
        try:
            who = self.oauth.principal(headers, CAPTION_SCOPES)
        except errors.ApiError as err:
            return self._refuse(CAPTIONS, record, err, 0)
        cost = captions_api.DOWNLOAD_COST if caption_id else captions_api.LIST_COST
        if not self._charge(who.client_id, cost):
            return self._refuse(CAPTIONS, record, errors.quota_exceeded(), 0)
        fault = self._take_fault(CAPTIONS)
        self._sleep()
        if fault is not None and fault not in ("reset", "truncate", *BODY_FAULTS):
            return self._refuse(CAPTIONS, record, errors.fault_error(fault), cost, fault)
        try:
            if caption_id is None:
                body = captions_api.list_captions(
                    self.captions, params, self._owner, who.channel_id
                )
                answer = _Answer(200, _json_bytes(body), headers={"ETag": f'"{body["etag"]}"'})
            else:
                ctype, text = captions_api.download_caption(
                    self.captions, caption_id, params, self._owner, who.channel_id
                )
                answer = _Answer(200, text.encode(), ctype)
        except errors.ApiError as err:
            answer = _Answer(err.code, _json_bytes(err.body))
        if fault in BODY_FAULTS:
            answer = _bad_body(answer, fault)
        elif fault is not None:
            answer.action = fault
        self._record(CAPTIONS, record, answer.status, cost, fault)
        return answer

    def serve_oauth(
        self, path: str, query: Iterable[tuple[str, str]], body: bytes, headers: Mapping[str, str]
    ) -> _Answer:
        """The consent page (redirects at once), the token and the revocation endpoints."""
        if path == oauth.AUTH_PATH:
            result = self.oauth.authorize(dict(query))
        elif path == oauth.TOKEN_PATH:
            basic = oauth.parse_basic_auth(headers.get("Authorization"))
            result = self.oauth.token(oauth.parse_form(body), basic)
        else:
            result = self.oauth.revoke_endpoint({**dict(query), **oauth.parse_form(body)})
        if result.location is not None:
            return _Answer(302, b"", "text/html", headers={"Location": result.location})
        return _Answer(
            result.status, _json_bytes(result.body), headers={"Cache-Control": "no-store"}
        )

    @property
    def analytics(self) -> Analytics:
        """The Analytics model of the current dataset (rebuilt when the dataset is replaced)."""
        current = self._analytics
        if current is None or current.dataset is not self.dataset:
            current = self._analytics = Analytics(self.dataset)
        current.min_retention_views = self.min_retention_views
        return current

    def analytics_queries(self, client_id: str | None = None) -> int:
        """Analytics queries charged today (Pacific time), by one OAuth client or by all."""
        today = self.quota_day()
        with self._lock:
            return sum(
                n
                for (c, day), n in self._analytics_ledger.items()
                if day == today and client_id in (None, c)
            )

    def serve_reports(
        self, query: Iterable[tuple[str, str]], headers: Mapping[str, str]
    ) -> _Answer:
        """YouTube Analytics ``reports.query`` behind OAuth; see the module docstring."""
        params = dict(query)
        try:
            who = self.oauth.principal(headers, ANALYTICS_SCOPES)
        except errors.ApiError as err:
            return self._refuse(REPORTS, params, err, 0)
        day = self.quota_day()
        with self._lock:
            spent = self._analytics_ledger[(who.client_id, day)]
            if spent >= self.analytics_quota:
                charged = False
            else:
                self._analytics_ledger[(who.client_id, day)] += 1
                charged = True
        if not charged:
            return self._refuse(REPORTS, params, analytics_errors.quota_exceeded(), 0)
        fault = self._take_fault(REPORTS)
        self._sleep()
        if fault == "quota":
            return self._refuse(REPORTS, params, analytics_errors.quota_exceeded(), 1, fault)
        if fault is not None and fault not in ("reset", "truncate", *BODY_FAULTS):
            return self._refuse(REPORTS, params, errors.fault_error(fault), 1, fault)
        try:
            body = self.analytics.query(params, who.channel_id, day)
            answer = _Answer(200, _json_bytes(body))
        except errors.ApiError as err:
            answer = _Answer(err.code, _json_bytes(err.body))
        if fault in BODY_FAULTS:
            answer = _bad_body(answer, fault)
        elif fault is not None:
            answer.action = fault
        self._record(REPORTS, params, answer.status, 1, fault)
        return answer

    def serve_feed(self, query: Iterable[tuple[str, str]]) -> _Answer:
        """Answer a request for a channel's or playlist's Atom feed."""
        params = dict(query)
        fault = self._take_fault(FEED)
        self._sleep()
        if fault in ("500", "503"):
            self._record(FEED, params, int(fault), 0, fault)
            return _Answer(int(fault), b"<html><body>Error</body></html>", "text/html")
        if params.get("channel_id"):
            xml = channel_feed(self.dataset, params["channel_id"])
        elif params.get("playlist_id"):
            xml = playlist_feed(self.dataset, params["playlist_id"])
        else:
            xml = None
        if xml is None:
            answer = _Answer(404, b"<html><body>Not Found</body></html>", "text/html")
        else:
            answer = _Answer(200, xml.encode(), "text/xml; charset=UTF-8")
            answer.headers["ETag"] = f'"{etag(xml)}"'
        answer.action = fault if fault in ("reset", "truncate") else None
        if fault in BODY_FAULTS:
            answer = _bad_body(answer, fault)
        self._record(FEED, params, answer.status, 0, fault)
        return answer

    def serve_control(self, method: str, name: str, body: bytes) -> _Answer:
        """Answer a request to the `/_emulator/` control API."""
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("expected a JSON object")
            if method == "GET" and name == "stats":
                return _Answer(200, _json_bytes(self.stats()))
            if method == "POST" and name == "faults":
                self.inject_fault(
                    str(payload.get("kind")), payload.get("endpoint"), int(payload.get("count", 1))
                )
                return _Answer(200, _json_bytes({"faults_pending": self.pending_faults()}))
            if method == "POST" and name == "reset":
                self.reset_stats()
                return _Answer(200, _json_bytes({"ok": True}))
            if method == "POST" and name == "config":
                if "latency_ms" in payload:
                    self.latency_ms = float(payload["latency_ms"])
                if "quota" in payload:
                    self.quota = int(payload["quota"])
                if "api_keys" in payload:
                    self.api_keys = {str(k) for k in payload["api_keys"]}
                if "stats_quota" in payload:
                    self.stats_quota = int(payload["stats_quota"])
                if "batch_stats_refusal" in payload:
                    refusal = payload["batch_stats_refusal"]
                    if refusal not in (None, 403, 404):
                        raise ValueError("batch_stats_refusal must be null, 403 or 404")
                    self.batch_stats_refusal = refusal
                return _Answer(200, _json_bytes(self.stats()))
        except (ValueError, TypeError) as exc:
            return _Answer(400, _json_bytes({"error": str(exc)}))
        return _Answer(404, _json_bytes({"error": f"no control endpoint {method} {name}"}))


def _bad_body(answer: _Answer, fault: str) -> _Answer:
    """A 200 whose body, complete by its Content-Length, is not what the call returns."""
    if fault == "short_200":
        return _Answer(200, answer.body[: len(answer.body) // 2], answer.content_type)
    if fault == "html_200":
        return _Answer(200, _PORTAL_PAGE, "text/html; charset=UTF-8")
    if fault == "empty_200":
        return _Answer(200, b"", answer.content_type)
    if fault == "array_200":
        return _Answer(200, b"[]", _JSON)
    return _Answer(200, b'"Service temporarily unavailable"', _JSON)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections would make server_close() wait forever.
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, emulator: Emulator):
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    timeout = 120  # drop idle keep-alive connections eventually
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a request log on stderr would drown test output; see Emulator.requests

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emu = self.server.emulator
        url = urlsplit(self.path)
        path = "/" + "/".join(p for p in url.path.split("/") if p)
        query = parse_qsl(url.query, keep_blank_values=True)
        if path == REPORTS_PATH and method == "GET":
            answer = emu.serve_reports(query, self.headers)  # type: ignore[arg-type]
        elif path == "/youtube/v3/captions" and method == "GET":
            answer = emu.serve_captions(None, query, self.headers)  # type: ignore[arg-type]
        elif path.startswith("/youtube/v3/captions/") and method == "GET":
            caption_id = path[len("/youtube/v3/captions/") :]
            answer = emu.serve_captions(caption_id, query, self.headers)  # type: ignore[arg-type]
        elif (path == oauth.AUTH_PATH and method == "GET") or (
            path in (oauth.TOKEN_PATH, oauth.REVOKE_PATH) and method == "POST"
        ):
            answer = emu.serve_oauth(path, query, body, self.headers)  # type: ignore[arg-type]
        elif path.startswith("/youtube/v3/") and (
            path[12:] in ENDPOINTS or path == batch_stats.PATH
        ):
            if method == "GET":
                answer = emu.serve_api(path[12:], query, self.headers)  # type: ignore[arg-type]
            else:
                # Writes need OAuth; an API key alone is refused before anything else.
                err = errors.login_required()
                answer = _Answer(err.code, _json_bytes(err.body))
        elif path == "/feeds/videos.xml" and method == "GET":
            answer = emu.serve_feed(query)
        elif path.startswith("/_emulator/"):
            answer = emu.serve_control(method, path[len("/_emulator/") :], body)
        else:
            err = errors.not_found_path(path)
            answer = _Answer(404, _json_bytes(err.body))
        self._send(answer)

    def _send(self, answer: _Answer) -> None:
        if answer.action == "reset":
            self._reset_connection()
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.status == 304:
            self.end_headers()
            return
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.action == "truncate":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body[: len(answer.body) // 2])
            return
        self.end_headers()
        self.wfile.write(answer.body)

    def _reset_connection(self) -> None:
        # SO_LINGER 0 turns close() into an RST, so the client sees ECONNRESET rather than
        # a clean EOF (which httplib2 would quietly retry as a stale keep-alive connection).
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass
