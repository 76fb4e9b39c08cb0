"""`archivesync users add|remove`: the web console's users file. Thin, over web/users.py."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from archivesync.cli.common import fail_cleanly
from archivesync.db import audit
from archivesync.db.schema import open_db
from archivesync.web import users as users_mod

__all__ = ["users_group"]


def _users_file_option(func):
    return click.option(
        "--file",
        "users_file",
        required=True,
        type=click.Path(dir_okay=False),
        help="The users file (JSON, created with mode 0600 when missing).",
    )(func)


def _audit_db_option(func):
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, exists=True),
        help="The index the console serves: the change goes into its audit trail (with your "
        "OS user name) and ends the user's open sessions.",
    )(func)


def _read_password() -> str:
    # Never from argv: it would show in `ps` and in shell history.
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _record(db_path: str | None, action: str, name: str, end_sessions: str | None) -> None:
    """Audit a change to the users file and end the user's sessions (with --db)."""
    if not db_path:
        return
    now = datetime.now(UTC)
    db = open_db(db_path)
    try:
        with db.conn:
            ended = audit.end_sessions_of(db, name, now, end_sessions) if end_sessions else 0
            detail = f"{ended} open session(s) ended" if ended else None
            audit.record(db, action, at=now, actor=audit.os_user(), target=name, detail=detail)
    finally:
        db.close()


@click.group("users")
def users_group():
    """Manage who may log in to the web console (`archivesync serve --users FILE`).

    A user name is an ASCII login id (letters, digits, . _ @ -); a name in Japanese goes in
    --display-name and is shown in the console's header and audit page.
    """


@users_group.command("add")
@_users_file_option
@click.option(
    "--role",
    type=click.Choice(users_mod.ROLES),
    default="staff",
    show_default=True,
    help="staff may queue resyncs; analyst may only read (with `serve --read-login`).",
)
@click.option("--display-name", help="The person's name as shown in the console, e.g. '山田 太郎'.")
@_audit_db_option
@click.argument("name")
@fail_cleanly
def add_command(users_file, role, display_name, db_path, name):
    """Add NAME, or set a new password; the password is read from a prompt or stdin."""
    users_mod.check_name(name)
    users_mod.check_display_name(display_name)
    new = users_mod.add_user(users_file, name, _read_password(), role, display_name)
    if new:
        _record(db_path, "user_added", name, None)
    else:
        _record(db_path, "password_changed", name, "password_changed")
    click.echo(f"{'added' if new else 'updated'} {role} {name} in {users_file}", err=True)


@users_group.command("remove")
@_users_file_option
@_audit_db_option
@click.argument("name")
@fail_cleanly
def remove_command(users_file, db_path, name):
    """Remove NAME: it can no longer log in, and its open sessions end at their next request."""
    users_mod.remove_user(users_file, name)
    _record(db_path, "user_removed", name, "user_removed")
    click.echo(f"removed {name} from {users_file}", err=True)
