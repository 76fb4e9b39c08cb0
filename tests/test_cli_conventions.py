"""Conventions every command follows: mistyped options are usage errors, and so on."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from archivesync.cli import cli


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_no_command_takes_unknown_options_as_arguments(name):
    command = cli.commands[name]
    assert not command.context_settings.get("ignore_unknown_options")
    assert not command.context_settings.get("allow_extra_args")


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n, c in cli.commands.items()
        if any(isinstance(p, click.Argument) and p.nargs == -1 for p in c.params)
    ),
)
def test_variadic_commands_refuse_a_mistyped_option(name, tmp_path):
    result = CliRunner().invoke(cli, [name, "--db", str(tmp_path / "x.db"), "word", "--jsno"])
    assert result.exit_code == 2, result.output
    assert "No such option '--jsno'" in result.output
    assert not (tmp_path / "x.db").exists()
