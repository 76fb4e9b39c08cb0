"""A failed CSRF check answered with the console's Japanese error page.

Datasette checks CSRF tokens with asgi-csrf, which answers a POST whose token is missing or
wrong with a 403 in English plain words ("form-urlencoded POST field did not match cookie")
and offers Datasette no hook to change it. `catch_failures` wraps the `send` of a POST: a 403
whose body is one of asgi-csrf's own messages becomes the console's error page, still 403.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from asgi_csrf import error_messages
from datasette.utils.asgi import Request, Response

from archivesync.web import errors

# Datasette's CSRF cookie (datasette/app.py passes this name to asgi-csrf).
CSRF_COOKIE = "ds_csrftoken"
FAILURES = {m.encode() for m in error_messages.values()} | {b"CSRF validation failed"}
HEADING = "送信を確認できませんでした"
MESSAGE = (
    "ページを開いてから時間がたったか、別のタブでログインし直したため、この送信を受け付けられません"
    "でした。ページを再読み込みしてから、もう一度お試しください。"
)


def _csrf_cookie(scope) -> str:
    cookie = SimpleCookie()
    for key, value in scope.get("headers", []):
        if key.lower() == b"cookie":
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed header: no token to offer
                return ""
    return cookie[CSRF_COOKIE].value if CSRF_COOKIE in cookie else ""


def catch_failures(datasette, scope, receive, send):
    """`send` for a request: asgi-csrf's 403 replaced by the Japanese page (other responses,
    and every GET, pass as they are)."""
    if scope.get("method") in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return send
    held: list[dict] = []

    async def send_or_replace(message):
        if message["type"] == "http.response.start" and message["status"] == 403:
            held.append(message)
            return
        if not held:
            return await send(message)
        held.append(message)
        if message.get("more_body"):
            return
        body = b"".join(m.get("body", b"") for m in held[1:])
        if body.strip() not in FAILURES:
            for m in held:
                await send(m)
            return
        # The page's own forms (log out) carry the token of the cookie the browser holds.
        token = _csrf_cookie(scope)
        request = Request({**scope, "csrftoken": lambda: token}, receive)
        answer = errors.error_page(datasette, request, 403, MESSAGE, heading=HEADING)
        if answer is None:  # a JSON request: Datasette's JSON error shape, in Japanese
            response = Response.json({"ok": False, "error": MESSAGE}, status=403)
        else:
            response = await answer()
        await response.asgi_send(send)

    return send_or_replace
