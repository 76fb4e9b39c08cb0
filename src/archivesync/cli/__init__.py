"""The `archivesync` command: thin shells over the sync, the daemon and the query code.

User mistakes become one line on stderr and an exit code (1 error, 2 usage, 75 quota
exhausted); only bugs keep a traceback.

Each command's module is imported only when that command runs (or when help lists them all):
`archivesync search` answers in a few tens of milliseconds because it never imports the API
client, APScheduler, Datasette or sqlite-utils (tests/test_cli_imports.py checks it).
"""

from __future__ import annotations

import importlib
import sys

import click

from archivesync.errors import ArchiveSyncError

# Command name -> "module:attribute" of its click command.
COMMANDS = {
    "sync": "archivesync.cli.sync:sync_command",
    "stats": "archivesync.cli.sync:stats_command",
    "emulator": "archivesync.emulator.cli:emulator_command",
    "search": "archivesync.cli.search:search_command",
    "embed": "archivesync.cli.embed:embed_command",
    "sql": "archivesync.cli.query:sql_command",
    "tables": "archivesync.cli.query:tables_command",
    "schema": "archivesync.cli.query:schema_command",
    "export": "archivesync.cli.query:export_command",
    "serve": "archivesync.cli.query:serve_command",
    "daemon": "archivesync.cli.ops:daemon_command",
    "resync": "archivesync.cli.ops:resync_command",
    "status": "archivesync.cli.ops:status_command",
    "notify": "archivesync.cli.notify:notify_group",
    "analytics": "archivesync.cli.analytics:analytics_command",
    "auth": "archivesync.cli.auth:auth_command",
    "transcripts": "archivesync.cli.transcripts:transcripts_command",
    "users": "archivesync.cli.users:users_group",
    "restore": "archivesync.cli.replication:restore_command",
    "follow": "archivesync.cli.replication:follow_command",
}


class LazyGroup(click.Group):
    """A group that imports a command's module the first time the command is looked up."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs):
        self._lazy = dict(lazy_commands)
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> dict[str, click.Command]:
        """Every command, loaded: for code that walks the whole group (help, the docs test)."""
        for name in list(self._lazy):
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._loaded = dict(value)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register a command that is already loaded."""
        name = name or cmd.name
        self._lazy.pop(name, None)
        self._loaded[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module now if need be."""
        if cmd_name in self._lazy:
            return self._load(cmd_name)
        return self._loaded.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted, without importing anything."""
        return sorted({*self._loaded, *self._lazy})

    def invoke(self, ctx: click.Context):
        """Run the command; a closed pipe on stdout ends any command quietly with 0.

        Click itself would turn it into exit 1 with no message.
        """
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            from archivesync.cli.common import closed_pipe_exit

            closed_pipe_exit()

    def _load(self, name: str) -> click.Command:
        module, attribute = self._lazy.pop(name).split(":")
        command = self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return command


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="archivesync")
def cli():
    """Keep an SQLite index of a YouTube channel's metadata."""


EXIT_SIGINT = 128 + 2


def main() -> None:
    """The console script: run the `archivesync` command group."""
    try:
        cli(standalone_mode=True)
    except SystemExit as e:
        try:
            sys.stdout.flush()  # what is still buffered, while a closed pipe can be handled
        except BrokenPipeError:
            from archivesync.cli.common import closed_pipe_exit

            closed_pipe_exit(e.code)
        raise
    except ArchiveSyncError as e:  # pragma: no cover - commands catch their own
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:  # a second Ctrl-C: the run is marked interrupted next time
        click.echo("Interrupted", err=True)
        sys.exit(EXIT_SIGINT)
