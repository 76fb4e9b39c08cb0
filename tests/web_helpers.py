"""Helpers for the console tests without a browser: a synced index with users, and requests
through Datasette's in-process client."""

from __future__ import annotations

import asyncio
from pathlib import Path

from archivesync.emulator import Emulator, load_dataset
from archivesync.web import users as users_mod

from .helpers import SAMPLE, sync


def synced_index(root: Path) -> dict:
    """The sample channel synced into root/archive.db, staff tanaka and analyst sato."""
    db = root / "archive.db"
    with Emulator(load_dataset(SAMPLE)) as emu:
        assert sync(db, emu, full=True).status == "ok"
    users = root / "users.json"
    users_mod.add_user(users, "tanaka", "correct-horse-42")
    users_mod.add_user(users, "sato", "battery-staple-7", role="analyst")
    return {"db": db, "users": users}


def fetch(ds, *calls):
    """Run (method, path, kwargs) calls against one Datasette; the responses in order."""

    async def go():
        await ds.invoke_startup()
        out = []
        for method, path, kwargs in calls:
            out.append(await getattr(ds.client, method)(path, **kwargs))
        return out

    return asyncio.run(go())


def cookie_for(ds, name: str) -> dict:
    """The session cookie of `name`, as a login now would set it (an unknown name: a cookie
    whose session cannot be valid)."""
    from datetime import UTC, datetime

    from archivesync.db.schema import open_db
    from archivesync.web import sessions

    cfg = ds.archivesync_console
    users = users_mod.load(cfg["users_file"])
    user = users.get(name, {"hash": "no such user", "role": "staff"})
    open_db(cfg["db_path"]).close()  # the sessions table (serve does this at start)
    token = sessions.start(cfg["db_path"], name, user, datetime.now(UTC))
    return {"ds_actor": sessions.cookie_value(ds, name, token)}
