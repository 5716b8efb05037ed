"""``b24-conformance diff OLD NEW``: what changed between two runs, or two compliance outputs.

The comparison is a pure function of two documents: report.json files (schemas/report.json)
are compared per case and mode, compliance outputs (docs/compliance.json) per client and
case. A result *holds* when it passed, and *does not hold* when it failed, errored or failed
as a baseline expects (xfailed: known, but still broken); a skip judges nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import click

from conformance import schemas

Kind = Literal["report", "compliance"]
Change = Literal["regressed", "fixed", "appeared", "disappeared"]
CHANGES: Final[tuple[Change, ...]] = ("regressed", "fixed", "appeared", "disappeared")
LEVELS: Final = ("must", "should", "may")

EXIT_SAME_OR_BETTER: Final = 0
EXIT_REGRESSED: Final = 1
EXIT_UNREADABLE: Final = 2

_BROKEN: Final = frozenset({"failed", "errored", "xfailed", "fail"})
_HOLDS: Final = frozenset({"passed", "pass"})


class DiffInputError(ValueError):
    """An input that is not a readable report.json or compliance output; said in one line."""


@dataclass(frozen=True)
class Result:
    """One judged item of a document: a case in a mode, or a case for a client."""

    level: str
    outcome: str
    checks: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Difference:
    change: Change
    #: ``mode-case`` for reports (as pytest ids read), ``client: case`` for compliance outputs
    item: str
    level: str
    old: str | None
    new: str | None
    #: for a regression, the checks that fail now and did not before; for a fix, those no
    #: longer failing
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Side:
    """What one input is: its label, kind, and the clients it covers with their versions."""

    label: str
    kind: Kind
    clients: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    old: Side
    new: Side
    differences: tuple[Difference, ...] = field(default=())

    @property
    def regressed(self) -> bool:
        return any(d.change == "regressed" for d in self.differences)

    def counts(self, level: str | None = None) -> dict[str, int]:
        return {
            change: sum(
                1
                for d in self.differences
                if d.change == change and (level is None or d.level == level)
            )
            for change in CHANGES
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": asdict(self.old),
            "new": asdict(self.new),
            "regressed": self.regressed,
            "counts": {level: self.counts(level) for level in LEVELS} | {"all": self.counts()},
            "differences": [asdict(d) for d in self.differences],
        }


# ---------------------------------------------------------------------------------------------
# Reading the inputs


def kind_of(document: Any) -> Kind | None:
    """A compliance output lists clients, a report names one; both list cases."""
    if not isinstance(document, dict) or not isinstance(document.get("cases"), list):
        return None
    if isinstance(document.get("clients"), list):
        return "compliance"
    if isinstance(document.get("client"), dict):
        return "report"
    return None


def read_document(path: Path) -> tuple[Kind, dict[str, Any]]:
    """A report.json or compliance output, checked enough to compare; else DiffInputError."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DiffInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise DiffInputError(f"{path}: not JSON ({exc})") from None
    kind = kind_of(document)
    if kind is None:
        raise DiffInputError(
            f"{path}: neither a report.json (client, cases) nor a compliance output "
            "(clients, cases)"
        )
    if kind == "report":
        problems = list(schemas.validator(schemas.uri("report.json")).iter_errors(document))
        if problems:
            first = problems[0]
            raise DiffInputError(
                f"{path}: breaks schemas/report.json at {first.json_path}: {first.message}"
            )
    else:
        _check_compliance(path, document)
    return kind, document


def _check_compliance(path: Path, document: Mapping[str, Any]) -> None:
    for position, case in enumerate(document["cases"]):
        if not (
            isinstance(case, dict)
            and isinstance(case.get("id"), str)
            and isinstance(case.get("results"), dict)
        ):
            raise DiffInputError(
                f"{path}: $.cases[{position}] is not a compliance case (id, level, results)"
            )


def report_results(document: Mapping[str, Any]) -> dict[str, Result]:
    return {
        f"{case.get('mode', '')}-{case['id']}".lstrip("-"): Result(
            level=case.get("level", "must"),
            outcome=case["outcome"],
            checks=frozenset(case.get("checks", ())),
        )
        for case in document["cases"]
    }


def compliance_results(document: Mapping[str, Any]) -> dict[str, Result]:
    return {
        f"{client}: {case['id']}": Result(level=case.get("level", "must"), outcome=verdict)
        for case in document["cases"]
        for client, verdict in case["results"].items()
    }


def _side(label: str, kind: Kind, document: Mapping[str, Any]) -> Side:
    if kind == "report":
        client = document["client"]
        entries: Iterable[Mapping[str, Any]] = [client]
    else:
        entries = document["clients"]
    names = tuple(
        f"{entry['name']} {entry['version']}" if entry.get("version") else str(entry["name"])
        for entry in entries
    )
    return Side(label, kind, names)


# ---------------------------------------------------------------------------------------------
# The comparison


def compare_results(old: Mapping[str, Result], new: Mapping[str, Result]) -> list[Difference]:
    """Regressed, fixed, appeared and disappeared items, in a stable order."""
    differences: list[Difference] = []
    for item in sorted(old.keys() | new.keys()):
        before, after = old.get(item), new.get(item)
        if before is None and after is not None:
            differences.append(Difference("appeared", item, after.level, None, after.outcome))
        elif after is None and before is not None:
            differences.append(Difference("disappeared", item, before.level, before.outcome, None))
        elif before is not None and after is not None:
            differences.extend(_changed(item, before, after))
    return differences


def _changed(item: str, before: Result, after: Result) -> Iterable[Difference]:
    was_broken, is_broken = before.outcome in _BROKEN, after.outcome in _BROKEN
    newly = tuple(sorted(after.checks - before.checks))
    gone = tuple(sorted(before.checks - after.checks))
    if is_broken and (not was_broken or newly):
        # A case that broke (a skip judged nothing, so breaking after one counts too), or a
        # broken case that now breaks one more check.
        yield Difference("regressed", item, after.level, before.outcome, after.outcome, newly)
    elif was_broken and after.outcome in _HOLDS:
        yield Difference("fixed", item, after.level, before.outcome, after.outcome, gone)


def compare(old_label: str, old_path: Path, new_label: str, new_path: Path) -> Comparison:
    """Read both inputs and compare them; both must be of the same kind."""
    old_kind, old_document = read_document(old_path)
    new_kind, new_document = read_document(new_path)
    if old_kind != new_kind:
        raise DiffInputError(
            f"{old_label} is a {old_kind} and {new_label} a {new_kind}: compare two report.json "
            "files or two compliance outputs"
        )
    reader = report_results if old_kind == "report" else compliance_results
    return Comparison(
        _side(old_label, old_kind, old_document),
        _side(new_label, new_kind, new_document),
        tuple(compare_results(reader(old_document), reader(new_document))),
    )


# ---------------------------------------------------------------------------------------------
# Rendering


def _line(difference: Difference) -> str:
    shift = f"{difference.old or '-'} -> {difference.new or '-'}"
    checks = f" [{', '.join(difference.checks)}]" if difference.checks else ""
    return f"{difference.item} ({difference.level}): {shift}{checks}"


def _headline(comparison: Comparison) -> str:
    counts = comparison.counts()
    return ", ".join(f"{counts[change]} {change}" for change in CHANGES)


def _clients(side: Side) -> str:
    return ", ".join(side.clients) or "(no client)"


def render_text(comparison: Comparison) -> str:
    lines = [
        f"old: {comparison.old.label} ({_clients(comparison.old)})",
        f"new: {comparison.new.label} ({_clients(comparison.new)})",
        _headline(comparison),
    ]
    for level in LEVELS:
        for change in CHANGES:
            chosen = [d for d in comparison.differences if d.level == level and d.change == change]
            lines += [f"  {level} {change:<11} {_line(d)}" for d in chosen]
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    """A CI step summary: the verdict, the counts per level, then each change."""
    verdict = "regressed" if comparison.regressed else "no regression"
    lines = [
        f"## b24-conformance diff: {verdict}",
        "",
        f"Old: `{comparison.old.label}` ({_clients(comparison.old)}); "
        f"new: `{comparison.new.label}` ({_clients(comparison.new)}).",
        "",
        "| level | " + " | ".join(CHANGES) + " |",
        "|---|" + "---:|" * len(CHANGES),
    ]
    for level in (*LEVELS, None):
        counts = comparison.counts(level)
        name = level or "**all**"
        lines.append(f"| {name} | " + " | ".join(str(counts[c]) for c in CHANGES) + " |")
    for change in CHANGES:
        chosen = [d for d in comparison.differences if d.change == change]
        if chosen:
            lines += ["", f"### {change.capitalize()} ({len(chosen)})", ""]
            lines += [f"- `{d.item}` ({d.level}): {_shift_markdown(d)}" for d in chosen]
    return "\n".join(lines) + "\n"


def _shift_markdown(difference: Difference) -> str:
    text = f"{difference.old or '-'} → {difference.new or '-'}"
    if difference.checks:
        text += " (" + ", ".join(f"`{c}`" for c in difference.checks) + ")"
    return text


# ---------------------------------------------------------------------------------------------
# The command


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for people, markdown for a CI step summary, json for machines.",
)
def diff_command(old: Path, new: Path, output_format: str) -> None:
    """Compare two report.json files (or two compliance outputs) per level.

    Lists the cases and checks that regressed, got fixed, appeared and disappeared from OLD
    to NEW. Exits 1 when NEW regressed, 0 otherwise, 2 on an unreadable input.
    """
    try:
        comparison = compare(str(old), old, str(new), new)
    except DiffInputError as exc:
        click.echo(f"b24-conformance diff: {' '.join(str(exc).split())}", err=True)
        sys.exit(EXIT_UNREADABLE)
    if output_format == "json":
        click.echo(json.dumps(comparison.as_dict(), indent=2, ensure_ascii=False))
    elif output_format == "markdown":
        click.echo(render_markdown(comparison), nl=False)
    else:
        click.echo(render_text(comparison))
    sys.exit(EXIT_REGRESSED if comparison.regressed else EXIT_SAME_OR_BETTER)
