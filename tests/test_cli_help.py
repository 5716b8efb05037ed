"""Every option of every command says in --help what it does."""

from __future__ import annotations

import click
import pytest

from conformance.cli import main
from tests.fixtures.common import cli


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_visible_option_has_help(command: str) -> None:
    options = [p for p in main.commands[command].params if isinstance(p, click.Option)]
    silent = [p.opts[-1] for p in options if not p.hidden and not p.help]
    assert silent == [], f"`b24-conformance {command} --help` shows {silent} without a help text"


def test_run_has_no_profile_option() -> None:
    # It changed nothing (the scripted answers follow the wire profile); validate keeps its own.
    result = cli(["run", "--profile", "docs"])
    assert result.exit_code == 2
    assert "No such option '--profile'" in result.output


def test_record_help_explains_deadline_and_verbose() -> None:
    result = cli(["record", "--help"], terminal_width=200)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    deadline = next(line for line in lines if line.lstrip().startswith("--deadline"))
    verbose = next(line for line in lines if line.lstrip().startswith("-v, --verbose"))
    assert "Seconds one client call" in deadline
    assert "Show every case (-v)" in verbose
