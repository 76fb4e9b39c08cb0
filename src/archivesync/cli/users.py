"""`archivesync users add|remove`: the web console's users file. Thin, over web/users.py."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from archivesync.cli.common import fail_cleanly
from archivesync.db import audit
from archivesync.web import users as users_mod
from archivesync.web.user_changes import change_users

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


def _change(db_path: str | None, name: str, change) -> str:
    """Make a change to the users file, audited with the OS user (with --db)."""
    return change_users(db_path, change, target=name, actor=audit.os_user(), at=datetime.now(UTC))


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
    password = _read_password()

    def add() -> str:
        new = users_mod.add_user(users_file, name, password, role, display_name)
        return "user_added" if new else "password_changed"

    action = _change(db_path, name, add)
    done = "added" if action == "user_added" else "updated"
    click.echo(f"{done} {role} {name} in {users_file}", err=True)


@users_group.command("remove")
@_users_file_option
@_audit_db_option
@click.argument("name")
@fail_cleanly
def remove_command(users_file, db_path, name):
    """Remove NAME: it can no longer log in, and its open sessions end at their next request."""

    def remove() -> str:
        users_mod.remove_user(users_file, name)
        return "user_removed"

    _change(db_path, name, remove)
    click.echo(f"removed {name} from {users_file}", err=True)
