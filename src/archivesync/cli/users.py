"""`archivesync users add|remove`: the web console's users file. Thin, over web/users.py."""

from __future__ import annotations

import sys

import click

from archivesync.cli.common import fail_cleanly
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


def _read_password() -> str:
    # Never from argv: it would show in `ps` and in shell history.
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.group("users")
def users_group():
    """Manage who may log in to the web console (`archivesync serve --users FILE`)."""


@users_group.command("add")
@_users_file_option
@click.option(
    "--role",
    type=click.Choice(users_mod.ROLES),
    default="staff",
    show_default=True,
    help="staff may queue resyncs; analyst may only read (with `serve --read-login`).",
)
@click.argument("name")
@fail_cleanly
def add_command(users_file, role, name):
    """Add NAME, or set a new password; the password is read from a prompt or stdin."""
    users_mod.check_name(name)
    new = users_mod.add_user(users_file, name, _read_password(), role)
    click.echo(f"{'added' if new else 'updated'} {role} {name} in {users_file}", err=True)


@users_group.command("remove")
@_users_file_option
@click.argument("name")
@fail_cleanly
def remove_command(users_file, name):
    """Remove NAME: it can no longer log in (sessions already open end at their next request)."""
    users_mod.remove_user(users_file, name)
    click.echo(f"removed {name} from {users_file}", err=True)
