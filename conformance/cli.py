"""The ``b24-conformance`` command line: a thin shell over the package's core."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from conformance import __version__, schemas
from conformance._data import DataNotFoundError
from conformance._options import FORMAT_OPTION, run_options
from conformance.error_catalogue import UnknownRevisionError
from conformance.errors import (
    EXIT_CONFORMANT,
    EXIT_INTERRUPTED,
    EXIT_NONCONFORMANT,
    EXIT_USAGE,
    UsageError,
)
from conformance.live.command import base_url_option
from conformance.validation import (
    MAX_BODY_DEPTH,
    Note,
    ValidationResult,
    Violation,
    body_problem,
    catalogue_notes,
    validate_response,
)

EXIT_OK = EXIT_CONFORMANT


class _Commands(click.Group):
    """The command group: a UsageError from the core is said in one line, exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            problem = click.ClickException(str(exc))
            problem.exit_code = EXIT_USAGE  # type: ignore[misc,unused-ignore]  # click reads it per instance
            raise problem from None
        except KeyboardInterrupt:
            # click would print "Aborted!" and exit 1; an interrupted command exits 130.
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_body(file: str) -> tuple[str, Any]:
    """The display label and the parsed JSON body of FILE ('-' is stdin)."""
    label = "stdin" if file == "-" else file
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{label} is not JSON: it is not UTF-8 text") from None
    if not text.strip():
        # json's "Expecting value: line 2 column 1" says nothing about a file with no body.
        empty = "empty input" if file == "-" else "empty file"
        raise UsageError(f"{label}: {empty}, there is no body to validate")
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise UsageError(f"{label} is not JSON: {exc}") from None
    except RecursionError:
        # Whether json's parser or body_problem refuses a deep body depends on how deep the
        # caller's stack already is: both say the same.
        raise UsageError(
            f"{label}: cannot check this body: JSON nested deeper than {MAX_BODY_DEPTH} levels"
        ) from None
    if problem := body_problem(body):
        raise UsageError(f"{label}: cannot check this body: {printable(problem)}")
    return label, body


def _json_printable(text: str) -> str:
    # Characters json leaves raw only occur inside strings, where \uXXXX means the same.
    return "".join(c if c == "\n" or c.isprintable() else json.dumps(c)[1:-1] for c in text)


def printable(text: str) -> str:
    """``text`` with every character a terminal would not show as itself escaped (``\\x1b``,
    ``\\u202e``), line breaks included, so a hostile value prints as one safe line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
        raise UsageError(str(exc)) from None
    if docs_revision is not None and profile != "docs":
        raise UsageError(
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
        notes = catalogue_notes(body)
    except (DataNotFoundError, UnknownRevisionError) as exc:
        raise UsageError(str(exc)) from None
    if output_format == "json":
        report = result.as_dict() | {"notes": [n.as_dict() for n in notes]}
        click.echo(_json_printable(json.dumps(report, indent=2, ensure_ascii=False)))
    else:
        click.echo(render_text(result, label, notes))
    sys.exit(EXIT_OK if result.valid else EXIT_NONCONFORMANT)


def render_text(result: ValidationResult, label: str, notes: tuple[Note, ...] = ()) -> str:
    """The human report of one validation: a verdict line, every violation, then the notes."""
    what = f"{result.envelope} envelope" if result.envelope != "unknown" else "body"
    status = f" (HTTP {result.status})" if result.status is not None else ""
    revision = f" at docs revision {result.docs_revision}" if result.docs_revision else ""
    if result.valid:
        lines = [
            f"{label}: valid {result.method} {what}{status} under profile {result.profile}"
            f"{revision}"
        ]
    else:
        count = len(result.violations)
        lines = [
            f"{label}: invalid {result.method} {what}{status} under profile {result.profile}"
            f"{revision}: {count} violation{'s' if count != 1 else ''}"
        ]
    for number, violation in enumerate(result.violations, 1):
        lines.extend(_render_violation(number, violation))
    lines.extend(f"note: {note.text}" for note in notes)
    return "\n".join(printable(line) for line in lines)


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


@main.command(context_settings={"ignore_unknown_options": False})
@run_options(
    "client",
    "mode",
    "tls",
    "allow_writes",
)
@base_url_option
@run_options(
    "budget_rate",
    "budget_burst",
    "max_requests",
    "cassettes",
    "record",
    "run_id",
    "hypothesis_profile",
    "validate_protocol",
    "no_properties",
    "report",
)
@click.option(
    "-k",
    "keyword",
    help="Select cases by pytest keyword expression (ids look like stub-get.not-found).",
)
@run_options("case", "baseline", "baseline_update", "seed", "deadline", "strict")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show every case, counts per level and every failing case id (-v); pytest's full "
    "output as well (-vv).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress: the summary in one line (verdict, checks)."
)
@click.option(
    "-n",
    "--numprocesses",
    "processes",
    default=None,
    help=(
        "Worker processes (pytest-xdist, one portal each): N, 'auto' (one per core) or 0 for a "
        "strictly serial run. Default: two per core (at most 4; 8 for a portal-only run, which "
        "mostly waits) for a run of 60 cases or more; serial for a live run, a -k selection "
        "or a short run."
    ),
)
def run(
    keyword: str | None,
    verbose: int,
    quiet: bool,
    processes: str | None,
    base_url: str | None,
    **values: Any,
) -> None:
    """Check a client against the case catalogue and the generated-input properties.

    With --mode live, check your portal instead (read-only unless --allow-writes; see
    docs/live.md). Exits 0 when it conforms, 1 when not, 2 on a usage error, 3 when the
    adapter is broken, 130 when interrupted.
    """
    from conformance.config import build_config
    from conformance.runner import run_suite

    sys.exit(
        run_suite(
            build_config(values, base_url=base_url),
            verbose=-1 if quiet else verbose,
            keyword=keyword,
            processes=processes,
        )
    )


# ---------------------------------------------------------------------------------------------
# cases, coverage, cassettes


@main.command()
@FORMAT_OPTION
def cases(output_format: str) -> None:
    """List the case catalogue: id, level, source, modes and description."""
    from conformance.listings import case_rows

    rows = case_rows()
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(row["id"]) for row in rows)
    click.echo(f"{'id':<{width}}  level   source  modes               description")
    for row in rows:
        click.echo(
            f"{row['id']:<{width}}  {row['level']:<6}  {row['source']:<6}  "
            f"{','.join(row['modes']):<18}  {row['description']}"
        )
    click.echo(f"{len(rows)} cases")


@main.command()
@FORMAT_OPTION
def coverage(output_format: str) -> None:
    """Which numbered CONTRACT.md checks have cases, and which do not."""
    from conformance.listings import coverage_rows

    rows = coverage_rows()
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
    from conformance.merge import merge_command
    from conformance.portal.command import portal_command

    main.add_command(portal_command, name="portal")
    main.add_command(record_command, name="record")
    main.add_command(sweep_command, name="sweep")
    main.add_command(compliance_command, name="compliance")
    main.add_command(merge_command, name="merge")
    main.add_command(diff_command, name="diff")
    main.add_command(drift_command, name="drift")


_register_subcommands()
