"""click options made from the run option table (conformance.config.RUN_OPTIONS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from conformance.config import OPTIONS_BY_DEST, RunOption

F = TypeVar("F", bound=Callable[..., Any])


def click_option(option: RunOption, *, help_text: str | None = None) -> Callable[[F], F]:
    """The click option of one run option (its values are checked by build_config)."""
    flag = "--" + option.name
    text = help_text or option.help
    if option.kind == "flag":
        return click.option(flag, option.dest, is_flag=True, help=text, hidden=option.hidden)
    if option.kind == "multiple":
        choice = click.Choice(option.choices) if option.choices else None
        return click.option(
            flag, option.dest, multiple=True, type=choice, help=text, hidden=option.hidden
        )
    kinds: dict[str, Any] = {
        "int": int,
        "float": float,
        "text": click.Choice(option.choices) if option.choices else str,
        "dir": click.Path(file_okay=False, path_type=Path),
        "file": click.Path(dir_okay=False, path_type=Path),
    }
    return click.option(
        flag,
        option.dest,
        type=kinds[option.kind],
        default=option.default,
        show_default=option.default is not None,
        help=text,
        hidden=option.hidden,
        metavar=option.metavar,
    )


def run_options(*dests: str, **help_texts: str) -> Callable[[F], F]:
    """Decorate a command with the run options ``dests`` (in that order in --help)."""

    def decorate(function: F) -> F:
        for dest in reversed(dests):
            function = click_option(OPTIONS_BY_DEST[dest], help_text=help_texts.get(dest))(function)
        return function

    return decorate


#: ``--format text|json``, for the commands that print for people or for machines.
FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)
