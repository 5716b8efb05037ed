"""The live parts of the command line: ``run --mode live`` options, ``record`` and ``sweep``.

Secrets come from the environment (B24_WEBHOOK_URL, or B24_PORTAL_URL and B24_AUTH_TOKEN);
``--base-url`` exists for one-off use but shows in the process list, so the environment is
the way to go. Nothing here prints a URL.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from conformance.live.budget import DEFAULT_BURST, DEFAULT_MAX_REQUESTS, DEFAULT_RATE

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2


class LiveUsageProblem(click.ClickException):
    """A live-mode usage or configuration error, said in one line; exit code 2."""

    exit_code = EXIT_USAGE


def budget_options(function: F) -> F:
    """--budget-rate, --budget-burst and --max-requests."""
    options = [
        click.option(
            "--budget-rate",
            type=click.FloatRange(min=0, min_open=True),
            default=DEFAULT_RATE,
            show_default=True,
            help="Live: requests per second after the burst (the portal's drain rate).",
        ),
        click.option(
            "--budget-burst",
            type=click.IntRange(min=1),
            default=DEFAULT_BURST,
            show_default=True,
            help="Live: the portal's bucket size; the run keeps two slots of headroom.",
        ),
        click.option(
            "--max-requests",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_REQUESTS,
            show_default=True,
            help="Live: requests one run may send (deleting what it created is never refused).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def base_url_option(function: F) -> F:
    return click.option(
        "--base-url",
        default=None,
        metavar="URL",
        help="Live: the webhook URL instead of B24_WEBHOOK_URL (visible in the process list: "
        "prefer the variable). Never printed.",
    )(function)


def _check_target(base_url: str | None) -> Any:
    from conformance.live.target import LiveTargetError, portal_from_env

    try:
        return portal_from_env(os.environ, base_url)
    except LiveTargetError as exc:
        raise LiveUsageProblem(str(exc)) from None


def live_run_args(
    modes: tuple[str, ...],
    *,
    allow_writes: bool,
    base_url: str | None,
    budget_rate: float,
    budget_burst: int,
    max_requests: int,
    record_dir: Path | None,
) -> list[str]:
    """The pytest options of a live run, after checking the target; [] without live mode."""
    if "live" not in modes:
        given = [
            name
            for name, value in (
                ("--allow-writes", allow_writes),
                ("--base-url", base_url is not None),
                ("--budget-rate", budget_rate != DEFAULT_RATE),
                ("--budget-burst", budget_burst != DEFAULT_BURST),
                ("--max-requests", max_requests != DEFAULT_MAX_REQUESTS),
            )
            if value
        ]
        if given:
            raise LiveUsageProblem(f"{given[0]} applies to --mode live only")
        return []
    _check_target(base_url)
    from conformance.live.cases import run_prefix
    from conformance.live.run import new_run_id

    run_id = new_run_id()
    click.echo(
        f"live: {'writes allowed' if allow_writes else 'read-only'}; codes of this run start "
        f"with {run_prefix(run_id)}",
        err=True,
    )
    args = [
        f"--b24-run-id={run_id}",
        f"--b24-budget-rate={budget_rate}",
        f"--b24-budget-burst={budget_burst}",
        f"--b24-max-requests={max_requests}",
    ]
    if allow_writes:
        args.append("--b24-allow-writes")
    if record_dir is not None:
        args.append(f"--b24-record={record_dir}")
    return args


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
@click.option("--tls", is_flag=True, help="Serve the live gateway over https.")
@click.option("--deadline", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option("-v", "--verbose", count=True)
@click.pass_context
def record_command(ctx: click.Context, /, out: Path, **options: Any) -> None:
    """Record live exchanges with the portal into scrubbed vcrpy cassettes.

    Same target variables as `run --mode live`; read-only unless --allow-writes. The webhook
    secret, tokens, member ids and the portal's address are replaced by placeholders that
    replay substitutes back. Exits like `run`.
    """
    from conformance.cli import run

    ctx.invoke(run, modes=("live",), no_properties=True, record_dir=out, **options)


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
        raise LiveUsageProblem(str(exc)) from None
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
    "LiveUsageProblem",
    "base_url_option",
    "budget_options",
    "live_run_args",
    "record_command",
    "sweep_command",
]
