"""The YouTube Analytics API v2 client: the Data API client's retries, over an OAuth Http.

It reuses `YouTubeClient.execute` (retries with backoff, quota and error mapping) with a
service built from the `youtubeAnalytics` v2 discovery document and google-auth's
AuthorizedHttp. Calls are counted in `calls`; no Data API units are charged, because this
API's quota is its own.
"""

from __future__ import annotations

import threading

from google.oauth2.credentials import Credentials

from archivesync import oauth
from archivesync.db.quota import QuotaGuard
from archivesync.errors import ApiError, AuthError
from archivesync.youtube import YouTubeClient

SCOPE_MESSAGE = (
    "the OAuth token does not grant YouTube Analytics (scope yt-analytics.readonly): run "
    "`archivesync auth` again and allow both captions and analytics"
)
RESULT_KIND = "youtubeAnalytics#resultTable"
# 401/403 answers that mean the token, not the request, is the problem.
AUTH_REASONS = {"insufficientPermissions", "authError", "required", "forbidden"}


class _NoUnits(QuotaGuard):
    """Counts nothing: Analytics queries do not spend the Data API's units."""

    def take(self, units: int = 1) -> None:
        return None

    def refund(self, units: int = 1) -> None:
        return None


class AnalyticsClient(YouTubeClient):
    """`execute` against YouTube Analytics v2 with the owner's OAuth credentials."""

    def __init__(
        self,
        credentials: Credentials,
        endpoint: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 6,
        stop: threading.Event | None = None,
    ):
        super().__init__(
            "", endpoint, timeout=timeout, retries=retries, guard=_NoUnits(), stop=stop
        )
        self.credentials = credentials

    API = ("youtubeAnalytics", "v2")

    def _auth(self) -> dict:
        """The owner's Bearer token."""
        return {"http": oauth.authorized_http(self.credentials, timeout=self.timeout)}

    def query(self, what: str, **params) -> dict:
        """One reports.query; a token without the analytics scope becomes an AuthError."""
        try:
            return self.execute(lambda s: s.reports().query(**params), what, kind=RESULT_KIND)
        except ApiError as e:
            if e.status in (401, 403) and e.reason in AUTH_REASONS:
                if e.reason == "insufficientPermissions":
                    raise AuthError(SCOPE_MESSAGE) from None
                if e.reason != "forbidden":
                    raise AuthError(
                        f"the OAuth token was refused ({e.reason}): run `archivesync auth` again"
                    ) from None
                raise AuthError(
                    f"{what}: the OAuth token's account does not own this channel or video "
                    "(403 forbidden); run `archivesync auth` as the channel's owner"
                ) from None
            raise


def connect(
    token_file: str | None,
    endpoint: str | None,
    *,
    timeout: float = 30.0,
    retries: int = 6,
    stop: threading.Event | None = None,
) -> AnalyticsClient:
    """A client from the token file (--oauth-token or its env variable), refreshed once now."""
    path = oauth.resolve_token_file(token_file)
    credentials = oauth.load_credentials(path, scopes=(oauth.ANALYTICS_SCOPE,))
    try:
        oauth.ensure_fresh(credentials, timeout=timeout, token_file=path)
    except AuthError as e:
        # Asking for a scope the grant lacks is refused as invalid_scope.
        if "invalid_scope" in str(e):
            raise AuthError(SCOPE_MESSAGE) from None
        raise
    return AnalyticsClient(credentials, endpoint, timeout=timeout, retries=retries, stop=stop)
