"""The console's error pages: 403 and 404 in Japanese, in the console's layout.

Datasette answers its own errors in English ("Error 404", "Forbidden"); the plugin's
`forbidden` and `handle_exception` hooks send them here instead. JSON requests keep Datasette's
JSON error.
"""

from __future__ import annotations

from datasette.utils.asgi import Response

from archivesync.web.respond import render

HEADINGS = {
    403: ("この操作は許可されていません", "このページを開く権限がありません。"),
    404: ("ページが見つかりません", "お探しのページはありません。アドレスを確かめてください。"),
}


def _is_japanese(text: str) -> bool:
    # The console's own messages are Japanese; Datasette's (English, sometimes naming SQL
    # objects) are replaced by the heading's sentence.
    return any(ord(ch) > 0x3000 for ch in text)


def error_page(datasette, request, status: int, message: str, heading: str | None = None):
    """An awaitable answering `status` with the Japanese page, or None for a JSON request."""
    if request.path.endswith(".json") or request.args.get("_format") == "json":
        return None

    async def inner() -> Response:
        title, sentence = HEADINGS[status]
        return await render(
            datasette,
            request,
            "error.html",
            {
                "status": status,
                "heading": heading or title,
                "message": message if _is_japanese(message or "") else sentence,
            },
            status,
        )

    return inner
