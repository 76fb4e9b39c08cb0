"""`archivesync notify test`, and the notification options `daemon` shares with it."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from archivesync.cli.common import fail_cleanly
from archivesync.errors import ConfigError


def notify_options(func):
    """--notify URL (repeatable), --public-url and --schedules' [notify] tables."""
    func = click.option(
        "--public-url",
        envvar="ARCHIVESYNC_PUBLIC_URL",
        help="The console's address as staff open it (`serve` behind a proxy), for links in "
        "notifications (env ARCHIVESYNC_PUBLIC_URL; or public_url in [notify]).",
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
    public_url = public_url or file_public
    if public_url and not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"--public-url {public_url!r} must start with http:// or https://")
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
@fail_cleanly
def notify_test_command(notify_urls, public_url, schedules_dir):
    """Send a test message to every notification URL; exit 1 if one did not take it."""
    from archivesync.logs import setup_logging
    from archivesync.notify.messages import console_link, problem_message

    setup_logging()
    sender, public_url = notify_settings(notify_urls, public_url, schedules_dir)
    if sender is None:
        raise click.UsageError("give --notify URL (or --schedules with a [notify] table)")
    message = problem_message(
        "test", None, None, run_id=None, console_url=console_link(public_url),
        since=datetime.now(UTC),
    )  # fmt: skip
    if not sender.send(message):
        raise ConfigError(f"the test message did not reach every URL ({', '.join(sender.shown())})")
    click.echo(f"test message sent to {', '.join(sender.shown())}", err=True)
