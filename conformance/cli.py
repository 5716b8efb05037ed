"""The ``b24-conformance`` command line: a thin shell over the package's core."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from conformance import __version__, schemas
from conformance._data import DataNotFoundError
from conformance.catalogue import UnknownRevisionError
from conformance.live.command import base_url_option, budget_options, live_run_args
from conformance.validation import ValidationResult, Violation, validate_response

EXIT_OK = 0
EXIT_NONCONFORMANT = 1
EXIT_USAGE = 2
#: SIGINT or SIGTERM ended the run (after a live run's cleanup): 128 + SIGINT, as shells say.
EXIT_INTERRUPTED = 130


class UsageProblem(click.ClickException):
    """A usage or configuration error, said in one line; exit code 2."""

    exit_code = EXIT_USAGE


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_body(file: str) -> tuple[str, Any]:
    """The display label and the parsed JSON body of FILE ('-' is stdin)."""
    label = "stdin" if file == "-" else file
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise UsageProblem(f"cannot read {label}: {exc.strerror or exc}") from None
    try:
        return label, json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise UsageProblem(f"{label} is not JSON: it is not UTF-8 text") from None
    except ValueError as exc:
        raise UsageProblem(f"{label} is not JSON: {exc}") from None


FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="b24-conformance")
def main() -> None:
    """Contract tests for the Bitrix24 REST methods crm.activity.badge.*."""


@main.command()
@click.argument("method")
@click.argument("file")
@click.option(
    "--profile",
    type=click.Choice(schemas.PROFILES),
    default=schemas.DEFAULT_PROFILE,
    show_default=True,
    help="docs: what the doc pages say; wire: what portals send.",
)
@click.option(
    "--status",
    type=click.IntRange(100, 599),
    default=None,
    help="The HTTP status the body came with; checked against the error catalogue.",
)
@click.option(
    "--docs-revision",
    metavar="REV",
    default=None,
    help="With --profile docs: the docs revision to follow (default: the newest kept; "
    "`b24-conformance drift` lists them).",
)
@FORMAT_OPTION
def validate(
    method: str,
    file: str,
    profile: str,
    status: int | None,
    docs_revision: str | None,
    output_format: str,
) -> None:
    """Validate a whole response body of METHOD read from FILE ('-' for stdin).

    Success and error envelopes are recognised automatically. Exits 0 when the body is
    valid, 1 when it is not, 2 on a usage error.
    """
    try:
        method = schemas.canonical_method(method)
    except schemas.UnknownMethodError as exc:
        raise UsageProblem(str(exc)) from None
    if docs_revision is not None and profile != "docs":
        raise UsageProblem(
            f"--docs-revision {docs_revision!r} applies to --profile docs, not {profile}"
        )
    label, body = _read_body(file)
    try:
        result = validate_response(
            method,
            body,
            profile=profile,  # type: ignore[arg-type]
            status=status,
            docs_revision=docs_revision,
        )
    except (DataNotFoundError, UnknownRevisionError) as exc:
        raise UsageProblem(str(exc)) from None
    if output_format == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(result, label))
    sys.exit(EXIT_OK if result.valid else EXIT_NONCONFORMANT)


def render_text(result: ValidationResult, label: str) -> str:
    """The human report of one validation: a verdict line, then every violation."""
    what = f"{result.envelope} envelope" if result.envelope != "unknown" else "body"
    status = f" (HTTP {result.status})" if result.status is not None else ""
    revision = f" at docs revision {result.docs_revision}" if result.docs_revision else ""
    if result.valid:
        return (
            f"{label}: valid {result.method} {what}{status} under profile {result.profile}"
            f"{revision}"
        )
    count = len(result.violations)
    lines = [
        f"{label}: invalid {result.method} {what}{status} under profile {result.profile}"
        f"{revision}: "
        f"{count} violation{'s' if count != 1 else ''}"
    ]
    for number, violation in enumerate(result.violations, 1):
        lines.extend(_render_violation(number, violation))
    return "\n".join(lines)


def _render_violation(number: int, violation: Violation) -> list[str]:
    where = f"{violation.schema_location} ({violation.keyword})"
    if violation.contract:
        where += f"; CONTRACT.md section {violation.contract}"
    return [
        f"  {number}. {violation.path}: {violation.problem}",
        f"     expected: {violation.expected}",
        f"     got:      {violation.actual}",
        f"     schema:   {where}",
    ]


# ---------------------------------------------------------------------------------------------
# run


class _Holder:
    """Receives the finished RunSession from the plugin: pytest's return code says too little."""

    def __init__(self) -> None:
        self.session: Any = None
        #: --base-url, handed to the plugin in process (it never goes through pytest's argv)
        self.base_url: str | None = None
        #: SIGINT or SIGTERM ended the run (pytest's own INTERRUPTED is also what
        #: pytest.exit(returncode=2) looks like, so it cannot tell)
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        # Also called for pytest.exit(), which is how the plugin reports usage problems.
        self.interrupted = isinstance(excinfo.value, KeyboardInterrupt)

    def pytest_configure(self, config: Any) -> None:
        from conformance.plugin import HOLDER_KEY

        config.stash[HOLDER_KEY] = self


@main.command(context_settings={"ignore_unknown_options": False})
@click.option(
    "--client",
    default="reference",
    show_default=True,
    help="reference, miniature:NAME or package.module:factory.",
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["stub", "replay", "portal", "live"]),
    help="Transport; repeat for several. Default: stub, replay and portal (a server on "
    "127.0.0.1); live: your portal from B24_WEBHOOK_URL, see docs/live.md.",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve portal mode (and the live gateway) over https (CA bundle in Target.ca_bundle).",
)
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Live: also run the stateful cases, which add (and delete) badges under a run prefix.",
)
@base_url_option
@budget_options
@click.option(
    "--cassettes",
    type=click.Path(file_okay=False, path_type=Path),
    help="Replay the cassettes in this directory (e.g. from `record`) instead of the catalogue's.",
)
@click.option("--record", "record_dir", hidden=True, type=click.Path(path_type=Path))
@click.option(
    "--hypothesis-profile",
    type=click.Choice(["dev", "ci", "live"]),
    default="ci",
    show_default=True,
    help="Profile of the generated-input properties.",
)
@click.option(
    "--validate-protocol",
    is_flag=True,
    help="cmd: clients: validate every harness message both ways.",
)
@click.option(
    "--no-properties",
    is_flag=True,
    help="Run the fixed cases only, not the generated-input properties.",
)
@click.option(
    "--report",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write report.json, report.md and junit.xml into this directory.",
)
@click.option(
    "-k",
    "keyword",
    help="Select cases by pytest keyword expression (ids look like stub-get.not-found).",
)
@click.option("--case", "case_ids", multiple=True, help="Run only this case id; repeatable.")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file listing the client's expected failures.",
)
@click.option(
    "--baseline-update",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a baseline of this run's failures to this file: entries that stay keep their "
    "reasons, new ones are marked for review.",
)
@click.option("--seed", type=int, help="Seed for generated inputs (recorded in the report).")
@click.option("--profile", type=click.Choice(schemas.PROFILES), default="wire", show_default=True)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds one client call may take before it counts as hung.",
)
@click.option(
    "-v", "--verbose", count=True, help="Show every case (-v) and pytest's full output (-vv)."
)
@click.option(
    "-n",
    "--numprocesses",
    "processes",
    default=None,
    help="Spread the run over N worker processes (pytest-xdist), or 'auto'; one portal each.",
)
def run(
    client: str,
    modes: tuple[str, ...],
    report: Path | None,
    keyword: str | None,
    case_ids: tuple[str, ...],
    baseline: Path | None,
    baseline_update: Path | None,
    seed: int | None,
    profile: str,
    deadline: float,
    verbose: int,
    tls: bool,
    hypothesis_profile: str,
    validate_protocol: bool,
    no_properties: bool,
    allow_writes: bool,
    base_url: str | None,
    budget_rate: float,
    budget_burst: int,
    max_requests: int,
    cassettes: Path | None,
    record_dir: Path | None,
    processes: str | None,
) -> None:
    """Check a client against the case catalogue and the generated-input properties.

    With --mode live, check your portal instead (read-only unless --allow-writes; see
    docs/live.md). Exits 0 when it conforms, 1 when not, 2 on a usage error, 3 when the
    adapter is broken, 130 when interrupted.
    """
    import pytest

    from conformance.baseline import BaselineError
    from conformance.clients import ClientSpecError, load_factory

    try:
        load_factory(client)
        _check_baselines(baseline, baseline_update)
    except (ClientSpecError, BaselineError) as exc:
        raise UsageProblem(str(exc)) from None
    if processes is not None and "live" in modes:
        raise UsageProblem("--numprocesses: a live run cannot be split over processes")
    if cassettes is not None:
        modes = modes or ("replay",)
        if "replay" not in modes:
            raise UsageProblem("--cassettes applies to --mode replay only")
    live_args = live_run_args(
        modes,
        allow_writes=allow_writes,
        base_url=base_url,
        budget_rate=budget_rate,
        budget_burst=budget_burst,
        max_requests=max_requests,
        record_dir=record_dir,
    )
    suite_dir = Path(__file__).parent / "suite"
    args = [
        "--pyargs",
        "conformance.suite",
        "-c",
        str(suite_dir / "pytest.ini"),
        "--rootdir",
        str(suite_dir),
        "-p",
        "no:cacheprovider",
        "--no-header",
        ("--tb=no", "--tb=line", "--tb=short")[min(verbose, 2)],
        "--show-capture=no",
        # The CLI imported the package before pytest could mark it for assertion rewriting.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-v" if verbose else "-q",
        "--b24-client",
        client,
        "--b24-profile",
        profile,
        "--b24-deadline",
        str(deadline),
    ]
    args += [f"--b24-mode={mode}" for mode in modes]
    args += live_args
    if cassettes is not None:
        args.append(f"--b24-cassettes={cassettes}")
    args += [f"--b24-case={case_id}" for case_id in case_ids]
    valued = {
        "--b24-report": report,
        "--b24-baseline": baseline,
        "--b24-baseline-update": baseline_update,
        "--b24-seed": seed,
        "--b24-hypothesis-profile": hypothesis_profile,
    }
    args += [f"{name}={value}" for name, value in valued.items() if value is not None]
    if keyword:
        args += ["-k", keyword]
    flags = {
        "--b24-tls": tls,
        "--b24-validate-protocol": validate_protocol,
        "--b24-no-properties": no_properties,
    }
    args += [flag for flag, wanted in flags.items() if wanted]
    if processes is not None:
        _preflight(client, case_ids, modes, validate_protocol)
        args += ["-p", "xdist", "-n", processes]
    holder = _Holder()
    holder.base_url = base_url
    code = int(pytest.main(args, plugins=[holder]))
    if holder.session is not None and code in (0, 1):
        sys.exit(holder.session.exit_code())
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise UsageProblem(f"no case matches -k {keyword!r}" if keyword else "no case selected")
    if code == pytest.ExitCode.USAGE_ERROR:
        sys.exit(EXIT_USAGE)
    if holder.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code)


def _check_baselines(baseline: Path | None, baseline_update: Path | None) -> None:
    """Both baseline options name readable baselines (an update target may not exist yet)."""
    from conformance.baseline import load_baseline

    if baseline is not None:
        load_baseline(baseline)
    elif baseline_update is not None and baseline_update.is_file():
        load_baseline(baseline_update, option="--baseline-update")


def _preflight(
    client: str, case_ids: tuple[str, ...], modes: tuple[str, ...], validate: bool
) -> None:
    """With worker processes, check usage and smoke-test the adapter here, once, so a broken
    adapter still exits 3 (a worker's exit would only say that it crashed)."""
    from conformance.session import AdapterBroken, RunConfig, RunSession
    from conformance.session import UsageProblem as RunUsageProblem

    config = RunConfig(client=client, case_ids=case_ids, validate_protocol=validate)
    if modes:
        config.modes = modes
    session = RunSession(config)
    try:
        session.prepare()
    except RunUsageProblem as exc:
        raise UsageProblem(str(exc)) from None
    except AdapterBroken as exc:
        click.echo(f"the adapter is broken: {exc}", err=True)
        sys.exit(3)
    finally:
        session.close()


# ---------------------------------------------------------------------------------------------
# cases, coverage, cassettes


@main.command()
@FORMAT_OPTION
def cases(output_format: str) -> None:
    """List the case catalogue: id, level, source, modes and description."""
    from conformance.case import all_cases

    catalogue = all_cases()
    if output_format == "json":
        rows = [
            {
                "id": c.id,
                "level": c.level,
                "source": c.source,
                "modes": list(c.modes),
                "needs": sorted(c.needs),
                "contract": list(c.contract),
                "checks": list(c.checks),
                "description": c.description,
            }
            for c in catalogue
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(c.id) for c in catalogue)
    click.echo(f"{'id':<{width}}  level   source  modes               description")
    for c in catalogue:
        click.echo(
            f"{c.id:<{width}}  {c.level:<6}  {c.source:<6}  "
            f"{','.join(c.modes):<18}  {c.description}"
        )
    click.echo(f"{len(catalogue)} cases")


@main.command()
@FORMAT_OPTION
def coverage(output_format: str) -> None:
    """Which numbered CONTRACT.md checks have cases, and which do not."""
    from conformance import _data
    from conformance.case import all_cases

    checks = _data.read_schema_file("catalogue/contract-checks.json")["checks"]
    by_check: dict[int, list[str]] = {c["number"]: [] for c in checks}
    for case in all_cases():
        for number in case.checks:
            by_check.setdefault(number, []).append(case.id)
    rows = [
        {
            "number": c["number"],
            "summary": c["summary"],
            "observable_by": c["observable_by"],
            "cases": by_check[c["number"]],
        }
        for c in checks
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    covered = sum(1 for r in rows if r["cases"])
    for row in rows:
        mark = "x" if row["cases"] else " "
        click.echo(f"[{mark}] {row['number']:>2}. {row['summary']} ({row['observable_by']})")
        if row["cases"]:
            click.echo(f"       {', '.join(row['cases'])}")
        elif row["observable_by"] in ("portal", "live"):
            click.echo("       no client case: a portal-side check (fake portal and live mode)")
        else:
            click.echo("       MISSING: no case covers it")
    click.echo(f"{covered} of {len(rows)} checks have cases")


@main.command()
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Change nothing; exit 1 if a cassette is stale or missing.",
)
def cassettes(check_only: bool) -> None:
    """Generate the catalogue's cassettes (one per replayable case) and lint them."""
    from conformance import cassettes as generator

    changes = generator.generate(check_only=check_only)
    for change in changes:
        if change.change != "unchanged":
            click.echo(f"{change.change}: {change.path.name}")
    problems = list(generator.lint())
    for problem in problems:
        click.echo(f"lint: {problem.path.name}: {problem.problem}", err=True)
    stale = [c for c in changes if c.change == "stale"]
    click.echo(f"{len(changes)} cassettes, {len(stale)} stale, {len(problems)} lint problems")
    if problems or stale:
        sys.exit(EXIT_NONCONFORMANT)


def _register_subcommands() -> None:
    """The commands that live with their own subsystems: the portal, live mode, compliance."""
    from conformance.compliance import compliance_command
    from conformance.diff import diff_command
    from conformance.ledger import drift_command
    from conformance.live.command import record_command, sweep_command
    from conformance.portal.command import portal_command

    main.add_command(portal_command, name="portal")
    main.add_command(record_command, name="record")
    main.add_command(sweep_command, name="sweep")
    main.add_command(compliance_command, name="compliance")
    main.add_command(diff_command, name="diff")
    main.add_command(drift_command, name="drift")


_register_subcommands()
