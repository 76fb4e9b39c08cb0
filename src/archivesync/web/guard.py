"""What every request and response of the console and Datasette passes through (ASGI wrapper).

In order:
1. a POST sent from another site (Sec-Fetch-Site, else Origin, says so) is refused, the login
   and logout forms included: asgi-csrf only checks a POST that carries cookies;
2. the session cookie is checked (web/sessions.py); a cookie that fails is dropped before
   Datasette sees it, and cleared in the browser;
3. Datasette's pages about the server itself (paths, threads, plugins...) are for staff only;
4. a failed CSRF check (asgi-csrf's English 403) is answered with the Japanese error page
   (web/csrf_page.py);
5. every response gets the security headers (CSP without inline scripts, no framing, nosniff,
   same-origin referrers), and its cookies get `Secure` when the request came over HTTPS
   (directly, or through a proxy uvicorn trusts: it sets the scheme from X-Forwarded-Proto).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import sqlite3
from datetime import timedelta
from functools import cache
from http.cookies import SimpleCookie
from importlib.resources import files
from urllib.parse import urlsplit

from archivesync.errors import ArchiveSyncError
from archivesync.web import access, csrf_page, sessions

log = logging.getLogger(__name__)

# Datasette's own pages about the server: database paths, threads, versions, plugins, the
# permission debugger; and its _internal catalogue.
STAFF_ONLY = re.compile(
    r"^/(?:-/(?:databases|threads|plugins|versions|settings|config|permissions|allow-debug"
    r"|messages|patterns|actor|api|create-token)(?:\.json)?|_internal(?:[/.].*)?)$"
)
# Paths that need no session: static files.
NO_SESSION = re.compile(r"^/-/(?:static|console|static-plugins)/")
IDLE_DEFAULT = timedelta(minutes=sessions.IDLE_MINUTES)


@cache
def datasette_script_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts Datasette's own templates hold (fixed text)."""
    templates = files("datasette") / "templates"
    found = []
    for name in ("_codemirror_foot.html", "_close_open_menus.html", "table.html"):
        text = (templates / name).read_text(encoding="utf-8")
        for body in re.findall(r"<script>(.*?)</script>", text, re.S):
            variants = [body]
            if "{{ datasette_allow_facet }}" in body:
                variants = [
                    body.replace("{{ datasette_allow_facet }}", v) for v in ("true", "false")
                ]
            elif "{{" in body or "{%" in body:
                continue
            for v in variants:
                digest = base64.b64encode(hashlib.sha256(v.encode()).digest()).decode()
                found.append(f"'sha256-{digest}'")
    return tuple(found)


def content_security_policy() -> str:
    """The CSP of every response: scripts from this site (and Datasette's known inline ones)."""
    scripts = " ".join(("'self'", *datasette_script_hashes()))
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https://i.ytimg.com; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def cross_site(scope) -> bool:
    """Whether a request comes from a page on another site."""
    headers = _headers(scope)
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False  # not from a browser page (curl, scripts, the test client)
    host = headers.get("host", "")
    parts = urlsplit(origin)
    return origin == "null" or parts.netloc != host


def _without_cookie(scope, name: str):
    headers = []
    for key, value in scope.get("headers", []):
        if key.lower() == b"cookie":
            kept = [
                part
                for part in value.decode("latin-1").split(";")
                if part.strip().split("=", 1)[0] != name
            ]
            value = ";".join(kept).strip().encode("latin-1")
            if not value:
                continue
        headers.append((key, value))
    return {**scope, "headers": headers}


def route_path(datasette, path: str) -> str:
    """The path as Datasette routes it: without the `base_url` prefix, when it has one."""
    base = datasette.setting("base_url") or "/"
    return "/" + path[len(base) :] if base != "/" and path.startswith(base) else path


async def _plain(urls, send, status: int, text: str, extra=(), *, as_json: bool = False):
    # Answered before Datasette (and its CSRF layer) runs: a short page of our own, or
    # Datasette's JSON error shape for a .json path.
    if as_json:
        body = json.dumps({"ok": False, "error": text}, ensure_ascii=False).encode()
        kind = b"application/json; charset=utf-8"
    else:
        css, home = urls.path("/-/console/console.css"), urls.instance()
        login = urls.path("/-/login")
        body = (
            '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{text}</title><link rel="stylesheet" href="{css}">'
            f'</head><body><main><h1>{text}</h1><p><a href="{home}">概要へ戻る</a> · '
            f'<a href="{login}">ログイン</a></p></main></body></html>'
        ).encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


def wrap(datasette, app):
    """The ASGI app `app` behind the checks above."""
    csp = content_security_policy().encode()

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        https = scope.get("scheme") == "https"
        clear = []
        extra_headers = [
            (b"content-security-policy", csp),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                ours = {k for k, _ in extra_headers}
                headers = []
                for key, value in message.get("headers", []):
                    if key.lower() in ours:
                        continue  # ours replace Datasette's (it sends no-referrer on some)
                    if key.lower() == b"set-cookie" and https and b"secure" not in value.lower():
                        value += b"; Secure"
                    headers.append((key, value))
                headers += extra_headers + clear
                message = {**message, "headers": headers}
            await send(message)

        if scope.get("method") == "POST" and cross_site(scope):
            return await _plain(
                datasette.urls, send_with_headers, 403, "別のサイトからの送信は受け付けません"
            )
        # Behind a proxy with Datasette's `base_url`, paths arrive with its prefix.
        path = route_path(datasette, scope.get("path", ""))
        cookie = SimpleCookie()
        try:
            cookie.load(_headers(scope).get("cookie", ""))
        except Exception:  # a malformed header: treat as no cookie
            cookie = SimpleCookie()
        raw = cookie[sessions.COOKIE].value if sessions.COOKIE in cookie else None
        session = ended = None
        if raw is not None and not NO_SESSION.match(path):
            session = await _session(datasette, scope, raw)
            if isinstance(session, sessions.Ended):
                session, ended = None, session.reason
            if session is None:
                clear.append(
                    (b"set-cookie", f"{sessions.COOKIE}=; Max-Age=0; Path=/; HttpOnly".encode())
                )
        if session is None and raw is not None:
            scope = _without_cookie(scope, sessions.COOKIE)
        scope = {**scope, access.SESSION_KEY: session, access.ENDED_KEY: ended}
        if STAFF_ONLY.match(path) and (session is None or session.user["role"] != "staff"):
            return await _plain(
                datasette.urls,
                send_with_headers,
                403,
                "職員アカウントのみ表示できます",
                as_json=path.endswith(".json"),
            )
        return await app(
            scope, receive, csrf_page.catch_failures(datasette, scope, receive, send_with_headers)
        )

    return guarded


async def _session(datasette, scope, raw: str):
    cfg = access.config(datasette)
    found = sessions.token_of(datasette, raw)
    if found is None or not cfg.get("users_file"):
        return None
    user_id, token = found
    client = scope.get("client")
    try:
        return await asyncio.to_thread(
            sessions.check,
            cfg["db_path"],
            cfg["users_file"],
            user_id,
            token,
            access.now(datasette),
            cfg.get("session_idle") or IDLE_DEFAULT,
            client[0] if client else None,
        )
    except (ArchiveSyncError, sqlite3.Error) as e:
        # The index cannot be read or written just now: nobody is signed in (fail closed).
        log.warning("session check failed: %s", e)
        return None
