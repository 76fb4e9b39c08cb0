"""`archivesync notify test`, and the notification options `daemon` shares with it."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from archivesync.cli.common import fail_cleanly
from archivesync.errors import ConfigError


class PublicUrl(click.ParamType):
    """The console's public address: http(s), a host, no user, password, query or fragment."""

    name = "url"

    def convert(self, value, param, ctx):
        """The checked URL without a trailing slash; a usage error otherwise."""
        from archivesync.notify.messages import check_public_url

        try:
            return check_public_url(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def record_public_url(db_path, public_url: str) -> None:
    """Record the console's public address for the daemon (`serve --public-url`)."""
    from archivesync.db import app_state
    from archivesync.db.schema import open_db
    from archivesync.timestamps import utcnow

    db = open_db(db_path)  # not writable: a clear error, before the server starts
    try:
        # One small write beside a daemon whose Litestream owns checkpoints: never checkpoint.
        db.execute("PRAGMA wal_autocheckpoint = 0")
        app_state.put(db, app_state.PUBLIC_URL, public_url, utcnow())
    finally:
        db.close()


def recorded_public_url(db_path) -> str | None:
    """The console address `serve --public-url` recorded in the index, if any (read only)."""
    from archivesync.db import app_state
    from archivesync.db.schema import open_readonly

    db = open_readonly(db_path)
    try:
        return app_state.get(db, app_state.PUBLIC_URL)
    finally:
        db.close()


def notify_options(func):
    """--notify URL (repeatable), --public-url and --schedules' [notify] tables."""
    func = click.option(
        "--public-url",
        envvar="ARCHIVESYNC_PUBLIC_URL",
        type=PublicUrl(),
        help="The console's address as staff open it, for links in notifications (env "
        "ARCHIVESYNC_PUBLIC_URL; else public_url in [notify]; else what `serve --public-url` "
        "recorded in the database).",
    )(func)
    return click.option(
        "--notify",
        "notify_urls",
        multiple=True,
        metavar="URL",
        help="Send notifications to this Apprise URL (mailto://, msteams://, slack://, line://, "
        "json://...; repeatable; added to urls in a schedule file's [notify]).",
    )(func)


def notify_settings(notify_urls, public_url, schedules_dir=None):
    """(Sender or None, public URL) from the options and the schedule files' [notify]."""
    from archivesync.notify.send import Sender
    from archivesync.worker.schedules import load_notify

    urls, file_public = load_notify(schedules_dir) if schedules_dir else ([], None)
    urls = [*notify_urls, *urls]
    if not public_url and file_public:
        from archivesync.notify.messages import check_public_url

        try:
            public_url = check_public_url(file_public)
        except ValueError as e:
            raise ConfigError(f"[notify] public_url: {e}") from None
    return (Sender(urls) if urls else None), public_url


@click.group("notify")
def notify_group():
    """Notifications to operators (Apprise URLs)."""


@notify_group.command("test")
@notify_options
@click.option(
    "--schedules",
    "schedules_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Also use the [notify] tables of this directory's *.toml files.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Link to the console address `serve --public-url` recorded in this index, as the "
    "daemon does, when no other is given.",
)
@fail_cleanly
def notify_test_command(notify_urls, public_url, schedules_dir, db_path):
    """Send a test message to every notification URL; exit 1 if one did not take it."""
    from archivesync.logs import setup_logging
    from archivesync.notify.messages import console_link, problem_message

    setup_logging()
    sender, public_url = notify_settings(notify_urls, public_url, schedules_dir)
    if not public_url and db_path:
        public_url = recorded_public_url(db_path)
    if sender is None:
        raise click.UsageError("give --notify URL (or --schedules with a [notify] table)")
    message = problem_message(
        "test", None, None, run_id=None, console_url=console_link(public_url),
        since=datetime.now(UTC),
    )  # fmt: skip
    if not sender.send(message):
        raise ConfigError(f"the test message did not reach every URL ({', '.join(sender.shown())})")
    click.echo(f"test message sent to {', '.join(sender.shown())}", err=True)
