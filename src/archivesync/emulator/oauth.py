"""OAuth 2.0 as Google runs it for installed apps, small enough for tests on loopback.

Three pieces, each usable by any endpoint of the emulator (captions here, YouTube Analytics
in its own module):

* the consent page ``GET /o/oauth2/auth``: no person is asked; the configured channel
  (``OAuthProvider.consent_channel``) "signs in and agrees" and the browser is redirected at
  once to the loopback ``redirect_uri`` with ``code`` and ``state``, as Google does after the
  user clicks Allow. Only loopback redirect URIs are accepted (installed-app flow).
* the token endpoint ``POST /token`` (form-encoded, like ``oauth2.googleapis.com/token``):
  ``authorization_code`` (PKCE checked when a challenge was sent) and ``refresh_token``
  grants; a revoked or unknown refresh token answers 400 ``invalid_grant``. ``POST /revoke``
  revokes a token as Google's revocation endpoint does.
* ``OAuthProvider.principal(headers, scopes)``: checks an ``Authorization: Bearer`` header
  and returns who the token speaks for (channel id, scopes, client id), or raises the API's
  own 401 (missing, unknown or expired token) or 403 ``insufficientPermissions``.

Tests that need a token without running the consent flow call ``issue()`` for a refresh
token, and ``revoke()`` / ``expire_access_tokens()`` to drive the failure paths.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import errors

AUTH_PATH = "/o/oauth2/auth"
TOKEN_PATH = "/token"
REVOKE_PATH = "/revoke"

FORCE_SSL_SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
YOUTUBEPARTNER_SCOPE = "https://www.googleapis.com/auth/youtubepartner"
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"
ANALYTICS_MONETARY_SCOPE = "https://www.googleapis.com/auth/yt-analytics-monetary.readonly"

DEMO_CLIENT_ID = "archivesync-demo.apps.googleusercontent.com"
DEMO_CLIENT_SECRET = "archivesync-demo-client-secret"
ACCESS_TOKEN_SECONDS = 3599  # what Google answers in expires_in
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@dataclass(frozen=True)
class Principal:
    """Who an access token speaks for."""

    channel_id: str
    scopes: frozenset[str]
    client_id: str


@dataclass
class _Grant:
    channel_id: str
    scopes: tuple[str, ...]
    client_id: str
    revoked: bool = False
    issued_at: float = 0.0


@dataclass
class _Access:
    grant: _Grant
    expires_at: float


@dataclass
class _Code:
    grant: _Grant
    redirect_uri: str
    challenge: str | None
    method: str


@dataclass
class OAuthAnswer:
    """An HTTP answer of the OAuth endpoints: JSON body, or a redirect (``location``)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    location: str | None = None


def _token_error(error: str, description: str, status: int = 400) -> OAuthAnswer:
    return OAuthAnswer(status, {"error": error, "error_description": description})


def invalid_credentials() -> errors.ApiError:
    """The API's 401 for a Bearer token it does not accept (unknown, revoked, expired)."""
    return errors.error(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        location="Authorization",
        location_type="header",
    )


def insufficient_scopes() -> errors.ApiError:
    """The API's 403 for a valid token granted without the scope the method needs."""
    return errors.error(
        403, "insufficientPermissions", "Request had insufficient authentication scopes."
    )


def client_secrets(
    base_url: str, client_id: str = DEMO_CLIENT_ID, client_secret: str = DEMO_CLIENT_SECRET
) -> dict[str, Any]:
    """A Google Cloud "Desktop app" client-secrets document pointing at this emulator."""
    return {
        "installed": {
            "client_id": client_id,
            "project_id": "archivesync-emulator",
            "auth_uri": base_url + AUTH_PATH,
            "token_uri": base_url + TOKEN_PATH,
            "client_secret": client_secret,
            "redirect_uris": ["http://localhost"],
        }
    }  # fmt: skip


class OAuthProvider:
    """Clients, grants and tokens of the emulated Google OAuth server; thread-safe."""

    def __init__(
        self,
        consent_channel: str | None = None,
        clients: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.consent_channel = consent_channel
        self.clients: dict[str, str] = (
            dict(clients) if clients is not None else {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        )
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, _Access] = {}
        self.token_requests = 0  # how many times the token endpoint answered (for tests)
        # Google gives apps left in "Testing" refresh tokens that expire (after 7 days) and
        # says so with `refresh_token_expires_in` (at the code exchange, and as the remaining
        # life at each refresh); None answers as for a published app.
        self.refresh_token_lifetime: int | None = None

    # ------------------------------------------------------------------ test helpers

    def issue(self, channel_id: str, scopes: Iterable[str], client_id: str = DEMO_CLIENT_ID) -> str:
        """A new refresh token for ``channel_id``, as if its owner had consented."""
        grant = _Grant(channel_id, tuple(scopes), client_id, issued_at=self.clock())
        token = "1//" + secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[token] = grant
        return token

    def authorized_user_info(
        self, base_url: str, channel_id: str, scopes: Iterable[str], client_id: str = DEMO_CLIENT_ID
    ) -> dict[str, Any]:
        """google-auth's "authorized user" JSON for a fresh grant, token_uri at ``base_url``."""
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": self.clients[client_id],
            "refresh_token": self.issue(channel_id, scopes, client_id),
            "token_uri": base_url + TOKEN_PATH,
            "scopes": list(scopes),
        }

    def revoke(self, token: str) -> bool:
        """Revoke a refresh or access token; revoking either ends the whole grant."""
        with self._lock:
            grant = self._refresh.get(token)
            if grant is None and token in self._access:
                grant = self._access[token].grant
            if grant is None:
                return False
            grant.revoked = True
            for key in [k for k, a in self._access.items() if a.grant is grant]:
                del self._access[key]
            return True

    def expire_access_tokens(self) -> None:
        """Make every access token expired, so clients must refresh."""
        with self._lock:
            for access in self._access.values():
                access.expires_at = 0

    # ------------------------------------------------------------------ endpoints

    def authorize(self, query: Mapping[str, str]) -> OAuthAnswer:
        """``GET /o/oauth2/auth``: consent granted at once, redirect back with a code."""
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if client_id not in self.clients:
            return _token_error("invalid_client", "The OAuth client was not found.", 401)
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS:
            return _token_error("invalid_request", "redirect_uri must be a loopback address")
        if query.get("response_type") != "code":
            return _token_error("unsupported_response_type", "response_type must be code")
        scopes = tuple(query.get("scope", "").split())
        if not scopes:
            return _token_error("invalid_scope", "Missing required parameter: scope")
        if self.consent_channel is None:
            return _token_error("access_denied", "no channel is configured to consent")
        code = "4/" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                _Grant(self.consent_channel, scopes, client_id),
                redirect_uri,
                query.get("code_challenge"),
                query.get("code_challenge_method", "plain"),
            )
        answer = {"code": code, "scope": " ".join(scopes)}
        if "state" in query:
            answer = {"state": query["state"], **answer}
        sep = "&" if parts.query else ""
        location = urlunsplit(parts._replace(query=parts.query + sep + urlencode(answer)))
        return OAuthAnswer(302, location=location)

    def token(
        self, form: Mapping[str, str], basic_auth: tuple[str, str] | None = None
    ) -> OAuthAnswer:
        """``POST /token``: exchange a code, or refresh an access token."""
        with self._lock:
            self.token_requests += 1
        client_id = form.get("client_id") or (basic_auth[0] if basic_auth else "")
        secret = form.get("client_secret") or (basic_auth[1] if basic_auth else "")
        if self.clients.get(client_id) != secret or not client_id:
            return _token_error("invalid_client", "Unauthorized", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form, client_id)
        if grant_type == "refresh_token":
            return self._refresh_grant(form, client_id)
        return _token_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _exchange_code(self, form: Mapping[str, str], client_id: str) -> OAuthAnswer:
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)
        if pending is None or pending.grant.client_id != client_id:
            return _token_error("invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != pending.redirect_uri:
            return _token_error("redirect_uri_mismatch", "Bad Request")
        if pending.challenge is not None:
            verifier = form.get("code_verifier", "")
            if pending.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if verifier != pending.challenge:
                return _token_error("invalid_grant", "Invalid code verifier.")
        refresh = self.issue(pending.grant.channel_id, pending.grant.scopes, client_id)
        body = self._new_access(self._refresh[refresh])
        body["refresh_token"] = refresh
        if self.refresh_token_lifetime is not None:
            body["refresh_token_expires_in"] = self.refresh_token_lifetime
        return OAuthAnswer(200, body)

    def _refresh_grant(self, form: Mapping[str, str], client_id: str) -> OAuthAnswer:
        with self._lock:
            grant = self._refresh.get(form.get("refresh_token", ""))
        if grant is None or grant.revoked or grant.client_id != client_id:
            return _token_error("invalid_grant", "Token has been expired or revoked.")
        wanted = form.get("scope", "").split()
        if not set(wanted) <= set(grant.scopes):
            return _token_error("invalid_scope", "Bad Request")
        left = None
        if self.refresh_token_lifetime is not None:
            left = grant.issued_at + self.refresh_token_lifetime - self.clock()
            if left <= 0:
                return _token_error("invalid_grant", "Token has been expired or revoked.")
        body = self._new_access(grant)
        if left is not None:
            # As Google answers for a time-limited grant: the refresh token's remaining life.
            body["refresh_token_expires_in"] = int(left)
        return OAuthAnswer(200, body)

    def _new_access(self, grant: _Grant) -> dict[str, Any]:
        token = "ya29." + secrets.token_urlsafe(32)
        with self._lock:
            self._access[token] = _Access(grant, self.clock() + ACCESS_TOKEN_SECONDS)
        return {
            "access_token": token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }

    def revoke_endpoint(self, form: Mapping[str, str]) -> OAuthAnswer:
        """``POST /revoke?token=...``: Google answers 200 ``{}`` or 400 ``invalid_token``."""
        if self.revoke(form.get("token", "")):
            return OAuthAnswer(200, {})
        return _token_error("invalid_token", "Token expired or revoked")

    # ------------------------------------------------------------------ resource servers

    def principal(self, headers: Mapping[str, str], scopes: Iterable[str]) -> Principal:
        """Who the ``Authorization: Bearer`` header speaks for, if it holds any of ``scopes``.

        Raises ``errors.ApiError``: 401 ``required`` with no Authorization header, 401
        ``authError`` for a token that is unknown, revoked or expired, 403
        ``insufficientPermissions`` when none of ``scopes`` was granted.
        """
        header = headers.get("Authorization") or ""
        if not header:
            raise errors.login_required()
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise invalid_credentials()
        with self._lock:
            access = self._access.get(token.strip())
            if access is None or access.grant.revoked or access.expires_at <= self.clock():
                raise invalid_credentials()
            grant = access.grant
        if not set(scopes) & set(grant.scopes):
            raise insufficient_scopes()
        return Principal(grant.channel_id, frozenset(grant.scopes), grant.client_id)


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (last value wins)."""
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an ``Authorization: Basic`` header, if there is one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, password = raw.partition(":")
    return user, password
