"""Signing in and out: the login form, the password check, Datasette's signed actor cookie."""

from __future__ import annotations

import asyncio
import time

from datasette.utils import baseconv
from datasette.utils.asgi import Response

from archivesync.web import users as users_mod
from archivesync.web.access import config
from archivesync.web.respond import render

COOKIE = "ds_actor"
SESSION_SECONDS = 12 * 3600


async def login(request, datasette):
    """GET: the login form. POST: check the password, set the signed session cookie."""
    next_path = request.args.get("next") or "/"
    if not next_path.startswith("/") or next_path.startswith("//"):
        next_path = "/"  # never redirect off this server
    if not config(datasette).get("users_file"):
        return await render(
            datasette, request, "login.html", {"disabled": True, "next": next_path}, 404
        )
    error = None
    if request.method == "POST":
        form = await request.post_vars()
        next_path = form.get("next") or next_path
        if not next_path.startswith("/") or next_path.startswith("//"):
            next_path = "/"
        try:
            users = users_mod.load(config(datasette)["users_file"])
        except users_mod.UsersFileError:
            users = {}
        actor = await asyncio.to_thread(
            users_mod.authenticate, users, form.get("username", ""), form.get("password", "")
        )
        if actor:
            response = Response.redirect(next_path)
            response.set_cookie(
                COOKIE,
                datasette.sign({"a": {"id": actor["id"]}, "e": _expiry()}, "actor"),
                httponly=True,
                samesite="lax",
            )
            return response
        error = "ユーザー名またはパスワードが違います。"
    return await render(
        datasette,
        request,
        "login.html",
        {"error": error, "next": next_path, "username": ""},
        401 if error else 200,
    )


def _expiry() -> str:
    # Datasette's ds_actor cookie carries its own expiry ("e", base62 seconds since epoch).
    return baseconv.base62.encode(int(time.time()) + SESSION_SECONDS)


async def logout(request, datasette):
    """POST: end the session (the form carries the CSRF token)."""
    if request.method != "POST":
        return Response.redirect("/")
    response = Response.redirect("/")
    response.set_cookie(COOKIE, "", expires=0, max_age=0)
    return response
