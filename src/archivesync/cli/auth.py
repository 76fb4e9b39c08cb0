"""`archivesync auth`: authorise archivesync once for the owner-only APIs (captions, analytics)."""

from __future__ import annotations

import sys

import click

from archivesync.cli.common import fail_cleanly
from archivesync.oauth import SCOPES, run_auth_flow


@click.command("auth")
@click.option(
    "--client-secrets",
    required=True,
    type=click.Path(dir_okay=False),
    help="OAuth client JSON (Desktop app) downloaded from Google Cloud.",
)
@click.option(
    "--token",
    "token_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the authorized-user token file (mode 0600).",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="Print the URL instead of opening a browser (e.g. over an SSH tunnel), then wait.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Loopback port for the redirect; 0 picks a free one (fix it for an SSH tunnel).",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=600,
    show_default=True,
    help="Seconds to wait for the browser to come back.",
)
@fail_cleanly
def auth_command(client_secrets, token_path, no_browser, port, timeout):
    """Run Google's consent flow once and save a refresh token for captions and analytics."""
    # The URL must reach a person even when stdout is a pipe (ssh, a log file).
    sys.stdout.reconfigure(line_buffering=True)
    click.echo("Asking for: " + ", ".join(SCOPES))
    run_auth_flow(
        client_secrets,
        token_path,
        open_browser=not no_browser,
        port=port,
        timeout_seconds=timeout,
    )
    click.echo(f"Token saved to {token_path} (mode 0600). Pass it with --oauth-token.")
