"""The ``b24-conformance`` command line: a thin shell over the package's core."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from conformance import __version__, schemas
from conformance._data import DataNotFoundError
from conformance.validation import ValidationResult, Violation, validate_response

EXIT_OK = 0
EXIT_NONCONFORMANT = 1
EXIT_USAGE = 2


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
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def validate(method: str, file: str, profile: str, status: int | None, output_format: str) -> None:
    """Validate a whole response body of METHOD read from FILE ('-' for stdin).

    Success and error envelopes are recognised automatically. Exits 0 when the body is
    valid, 1 when it is not, 2 on a usage error.
    """
    try:
        method = schemas.canonical_method(method)
    except schemas.UnknownMethodError as exc:
        raise UsageProblem(str(exc)) from None
    label, body = _read_body(file)
    try:
        result = validate_response(method, body, profile=profile, status=status)  # type: ignore[arg-type]
    except DataNotFoundError as exc:
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
    if result.valid:
        return f"{label}: valid {result.method} {what}{status} under profile {result.profile}"
    count = len(result.violations)
    lines = [
        f"{label}: invalid {result.method} {what}{status} under profile {result.profile}: "
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
