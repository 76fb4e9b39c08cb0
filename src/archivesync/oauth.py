"""OAuth for the owner-only APIs (captions, YouTube Analytics): one token file, both scopes.

`archivesync auth` runs google-auth-oauthlib's installed-app flow once and writes google-auth's
"authorized user" JSON (client_id, client_secret, refresh_token, token_uri; never the
short-lived access token) with mode 0600. Commands load it with `load_credentials`; google-auth
refreshes the access token through the file's own `token_uri`, which is how the emulator
serves tests and the demo.

Secrets never leave this module in a message: errors name the file and the OAuth error code
(`invalid_grant`...), never a token or the client secret.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp, Request

from archivesync.errors import AuthError, ConfigError
from archivesync.host import write_private
from archivesync.timestamps import format_utc

CAPTIONS_SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"
# One consent covers both owner-only features, so one token file serves them all.
SCOPES = (CAPTIONS_SCOPE, ANALYTICS_SCOPE)
TOKEN_FILE_ENV = "ARCHIVESYNC_OAUTH_TOKEN_FILE"
_REQUIRED = ("client_id", "client_secret", "refresh_token", "token_uri")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def resolve_token_file(cli_value: str | os.PathLike[str] | None) -> Path:
    """The token file from `--oauth-token` or ARCHIVESYNC_OAUTH_TOKEN_FILE; AuthError if neither."""
    value = cli_value or os.environ.get(TOKEN_FILE_ENV, "").strip()
    if not value:
        raise AuthError(
            "no OAuth token: run `archivesync auth --client-secrets FILE --token FILE` once, "
            f"then pass --oauth-token FILE or set {TOKEN_FILE_ENV}"
        )
    return Path(value)


def load_credentials(path: str | os.PathLike[str], scopes: tuple[str, ...] = SCOPES) -> Credentials:
    """Credentials from an authorized-user JSON file, refreshing through the file's token_uri."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthError(
            f"OAuth token file {str(path)!r} does not exist: run `archivesync auth`"
        ) from None
    except OSError as e:
        raise AuthError(f"cannot read OAuth token file {str(path)!r}: {e.strerror}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuthError(
            f"OAuth token file {str(path)!r} is readable by others (mode "
            f"{stat.S_IMODE(mode):o}): run `chmod 600 {path}`"
        )
    try:
        info = json.loads(raw)
    except ValueError:
        raise AuthError(f"OAuth token file {str(path)!r} is not JSON") from None
    if not isinstance(info, dict):
        raise AuthError(f"OAuth token file {str(path)!r} is not an authorized-user JSON object")
    missing = [k for k in _REQUIRED if not isinstance(info.get(k), str) or not info.get(k)]
    if missing:
        raise AuthError(
            f"OAuth token file {str(path)!r} lacks {', '.join(missing)}: run `archivesync auth`"
        )
    # Built by hand: Credentials.from_authorized_user_info puts Google's token URI in place of
    # the file's, which would send the emulator's refresh token to Google.
    return Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=info["token_uri"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=list(scopes),
    )


def save_credentials(
    path: str | os.PathLike[str],
    credentials: Credentials,
    *,
    refresh_token_expires_at: str | None = None,
) -> None:
    """Write the authorized-user JSON atomically with mode 0600 (no access token in it).

    `refresh_token_expires_at` (UTC, when Google said the refresh token expires) lets the
    daemon warn before it does.
    """
    path = Path(path)
    info = {
        "type": "authorized_user",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "refresh_token": credentials.refresh_token,
        "token_uri": credentials.token_uri,
        "scopes": list(credentials.granted_scopes or credentials.scopes or SCOPES),
    }
    if refresh_token_expires_at:
        info["refresh_token_expires_at"] = refresh_token_expires_at
    if not credentials.refresh_token:
        raise AuthError("the authorization server returned no refresh token; run auth again")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ConfigError(f"directory {str(directory)!r} does not exist")
    write_private(path, json.dumps(info, indent=1) + "\n")


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in _LOOPBACK


def read_client_secrets(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The "installed" (Desktop app) section of a Google Cloud client-secrets file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"client secrets file {str(path)!r} does not exist") from None
    except (OSError, ValueError):
        raise ConfigError(f"client secrets file {str(path)!r} is not readable JSON") from None
    section = data.get("installed") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(
            f'client secrets file {str(path)!r} has no "installed" section: create an OAuth '
            "client of type Desktop app in Google Cloud and download its JSON"
        )
    for key in ("client_id", "client_secret", "auth_uri", "token_uri"):
        if not section.get(key):
            raise ConfigError(f"client secrets file {str(path)!r} lacks {key}")
    return section


def run_auth_flow(
    client_secrets: str | os.PathLike[str],
    token_path: str | os.PathLike[str],
    *,
    open_browser: bool = True,
    host: str = "localhost",
    port: int = 0,
    timeout_seconds: int | None = None,
) -> Credentials:
    """Run the installed-app flow (loopback redirect), save the token file, return credentials."""
    from google_auth_oauthlib.flow import InstalledAppFlow  # only `auth` needs oauthlib

    section = read_client_secrets(client_secrets)
    if _is_loopback(section["token_uri"]):
        # oauthlib refuses plain http; the emulator on loopback is the one http token endpoint
        # that is safe to talk to (nothing leaves the machine).
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    class Flow(InstalledAppFlow):
        def authorization_url(self, **kwargs):
            # The redirect server is bound by now: with --port 0 only it knows the port, and a
            # person tunnelling over SSH needs that number.
            url, state = super().authorization_url(**kwargs)
            bound = urlsplit(self.redirect_uri).port
            print(
                "Open this URL in a browser on this machine, or on one tunnelled to port "
                f"{bound} here (ssh -L {bound}:localhost:{bound} THIS-HOST), and allow access:"
                f"\n{url}",
                flush=True,
            )
            return url, state

    flow = Flow.from_client_config({"installed": section}, scopes=list(SCOPES))
    sys.stdout.flush()
    try:
        credentials = flow.run_local_server(
            host=host,
            port=port,
            open_browser=open_browser,
            authorization_prompt_message="",
            success_message="archivesync is authorised. You may close this window.",
            timeout_seconds=timeout_seconds,
            access_type="offline",
            prompt="consent",
        )
    except OSError as e:
        raise ConfigError(
            f"cannot listen on {host}:{port} for the OAuth redirect: {e.strerror}"
        ) from None
    except Exception as e:  # oauthlib's errors carry the server's answer, never our secrets
        raise AuthError(f"authorisation failed: {_oauth_error_name(e)}") from None
    if not credentials.refresh_token:
        raise AuthError("the authorization server returned no refresh token; run auth again")
    save_credentials(token_path, credentials, refresh_token_expires_at=_refresh_token_expiry(flow))
    return credentials


def expiry_after(seconds, now: datetime) -> str | None:
    """`now` + a token answer's `refresh_token_expires_in`, as stored; None if it said none."""
    try:
        return format_utc(now + timedelta(seconds=int(seconds))) if seconds is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def _refresh_token_expiry(flow) -> str | None:
    """When the refresh token expires, if the token answer said (`refresh_token_expires_in`)."""
    token = getattr(flow.oauth2session, "token", None) or {}
    return expiry_after(token.get("refresh_token_expires_in"), datetime.now(UTC))


class _TokenAnswerRequest(Request):
    """google-auth's httplib2 transport, keeping what the token endpoint said of the refresh
    token: google-auth reads the access token from the answer and drops the rest."""

    refresh_token_expires_in = None

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        """Make the request; remember `refresh_token_expires_in` from a 200 token answer."""
        response = super().__call__(url, method, body, headers, timeout, **kwargs)
        if response.status == 200:
            try:
                answer = json.loads(response.data)
            except ValueError:
                answer = None
            if isinstance(answer, dict) and "refresh_token_expires_in" in answer:
                self.refresh_token_expires_in = answer["refresh_token_expires_in"]
        return response


def record_refresh_token_expiry(path: str | os.PathLike[str], expires_at: str) -> bool:
    """Write `refresh_token_expires_at` into an existing token file (0600, atomically).

    For token files written before `auth` recorded it: the daemon learns it at a refresh. A
    file it cannot rewrite keeps what it has (False); the warning then waits for `auth`.
    """
    path = Path(path)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(info, dict) or info.get("refresh_token_expires_at") == expires_at:
            return False
        info["refresh_token_expires_at"] = expires_at
        write_private(path, json.dumps(info, indent=1) + "\n")
    except (OSError, ValueError):
        return False
    return True


def _oauth_error_name(e: Exception) -> str:
    """A secret-free name for an OAuth failure: the error code, else the exception class."""
    code = getattr(e, "error", None)
    if isinstance(code, str) and code:
        return code
    if isinstance(e, RefreshError) and len(e.args) > 1 and isinstance(e.args[1], dict):
        return str(e.args[1].get("error") or type(e).__name__)
    return type(e).__name__


def authorized_http(credentials: Credentials, timeout: float = 30.0) -> AuthorizedHttp:
    """An httplib2 Http that sends the Bearer token and refreshes it on 401."""
    return AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))


def ensure_fresh(
    credentials: Credentials,
    timeout: float = 30.0,
    *,
    token_file: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
) -> None:
    """Refresh now, so a revoked token fails before any work: AuthError, no secrets.

    When the answer says how long the refresh token has left (`refresh_token_expires_in`,
    given for time-limited grants), `token_file` records when it expires.
    """
    request = _TokenAnswerRequest(httplib2.Http(timeout=timeout))
    try:
        credentials.refresh(request)
    except RefreshError as e:
        code = _oauth_error_name(e)
        why = (
            "it lacks a scope archivesync needs"
            if code == "invalid_scope"
            else "it was revoked or has expired"
        )
        raise AuthError(
            f"the OAuth token was refused ({code}): {why}; run `archivesync auth` again"
        ) from None
    except TransportError as e:
        raise AuthError(
            f"cannot reach the OAuth token endpoint ({type(e.__cause__ or e).__name__})"
        ) from None
    expires_at = expiry_after(request.refresh_token_expires_in, now or datetime.now(UTC))
    if token_file and expires_at:
        record_refresh_token_expiry(token_file, expires_at)
