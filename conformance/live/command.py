"""The live parts of the command line: ``run --mode live`` options, ``record`` and ``sweep``.

Secrets come from the environment (B24_WEBHOOK_URL, or B24_PORTAL_URL and B24_AUTH_TOKEN);
``--base-url`` exists for one-off use but shows in the process list, so the environment is
the way to go. Nothing here prints a URL.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from conformance._options import run_options
from conformance.config import build_config
from conformance.errors import UsageError
from conformance.runner import run_suite

F = TypeVar("F", bound=Callable[..., Any])

#: --budget-rate, --budget-burst and --max-requests, as `run` has them.
budget_options = run_options("budget_rate", "budget_burst", "max_requests")


def base_url_option(function: F) -> F:
    return click.option(
        "--base-url",
        default=None,
        metavar="URL",
        help="Live: the webhook URL instead of B24_WEBHOOK_URL (visible in the process list: "
        "prefer the variable). Never printed.",
    )(function)


@click.command("record")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the cassettes (one per case; replay them with "
    "`run --mode replay --cassettes DIR`).",
)
@click.option(
    "--client", default="reference", show_default=True, help="The client that makes the calls."
)
@click.option("--allow-writes", is_flag=True, help="Also record the stateful add/delete cases.")
@base_url_option
@budget_options
@click.option("--case", "case_ids", multiple=True, help="Record only this case id; repeatable.")
@click.option(
    "--report",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write report.json/md, junit.xml, drift.json/md and live.json/log here.",
)
@run_options("tls", "deadline", tls="Serve the live gateway over https.")
@click.option(
    "-v", "--verbose", count=True, help="Show every case (-v) and pytest's full output (-vv)."
)
def record_command(
    out: Path, base_url: str | None, verbose: int, case_ids: tuple[str, ...], **values: Any
) -> None:
    """Record live exchanges with the portal into scrubbed vcrpy cassettes.

    Same target variables as `run --mode live`; read-only unless --allow-writes. The webhook
    secret, tokens, member ids and the portal's address are replaced by placeholders that
    replay substitutes back. Exits like `run`.
    """
    config = build_config(
        {**values, "case": case_ids, "mode": ("live",), "no_properties": True, "record": out},
        base_url=base_url,
    )
    sys.exit(run_suite(config, verbose=verbose))


@click.command("sweep")
@click.option(
    "--prefix",
    required=True,
    help="Delete badges whose code starts with this (it must start with b24ct-).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; delete nothing.")
@base_url_option
@budget_options
def sweep_command(
    prefix: str,
    dry_run: bool,
    base_url: str | None,
    budget_rate: float,
    budget_burst: int,
    max_requests: int,
) -> None:
    """Remove the badges a crashed live run left behind, and list them.

    Only codes starting with --prefix are touched, and the prefix must start with b24ct-
    (the run prints its prefix, b24ct-<run id>-, when it starts). Exits 0 when nothing with the
    prefix is left, 1 when a delete failed, 2 on a usage error.
    """
    from conformance.live.budget import BudgetSettings
    from conformance.live.sweep import SweepRefused, sweep
    from conformance.live.target import LiveTargetError

    try:
        result = sweep(
            prefix,
            base_url=base_url,
            budget=BudgetSettings(budget_rate, budget_burst, max_requests),
            dry_run=dry_run,
        )
    except (SweepRefused, LiveTargetError) as exc:
        raise UsageError(str(exc)) from None
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    verb = "would remove" if dry_run else "removed"
    for code in result.removed:
        click.echo(f"{verb} {code}")
    for code, why in result.failed:
        click.echo(f"could not remove {code}: {why}", err=True)
    click.echo(
        f"{len(result.removed)} badge(s) {verb}, {len(result.failed)} failed, "
        f"{result.requests} request(s)"
    )
    if result.failed:
        sys.exit(1)


__all__ = [
    "base_url_option",
    "budget_options",
    "record_command",
    "sweep_command",
]
