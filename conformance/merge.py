"""``b24-conformance merge``: one compliance page from the report folders of separate runs.

A CI matrix runs the suite once per client, one job each (the GitHub Action in ``action.yml``
and the reusable workflow ``.github/workflows/compliance.yml``), and each job keeps the folder
``run --report`` wrote. ``merge`` reads those folders back, runs nothing, and writes the
publication ``compliance`` writes (``conformance.publication``, the same rendering) into one
directory: ``compliance.md``, ``compliance.json``, ``compliance.html``, ``badges/<client>.json``,
and under ``compliance/<client>/`` the trimmed records the page links to, which ``merge`` reads
again to the same page.

A folder holds ``report.json``; the Action also leaves ``run.json`` (the client's name on the
page, the command, the exit code) and ``baseline.yaml`` (a copy of the baseline the run
applied, whose reasons state the defects; without it, the baseline the report names is read
from the current directory). Without run.json the page says what it does not know.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import click
import yaml

from conformance import schemas
from conformance.baseline import BaselineError
from conformance.compliance import baseline_findings, trim_report
from conformance.errors import EXIT_NONCONFORMANT, UsageError
from conformance.publication import MERGED_BY, ClientRecord, json_text, publication

REPORT: Final = "report.json"
#: What the Action writes beside the report (docs/client-authors.md, section 4).
RUN_RECORD: Final = "run.json"
BASELINE_COPY: Final = "baseline.yaml"
#: The folder under --out that keeps one record per client (the page links to it).
RECORDS: Final = "compliance"
#: A client's name becomes a file name (badges/<name>.json) and a folder (compliance/<name>/).
CLIENT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not JSON ({' '.join(str(exc).split())})") from None


def _run_record(folder: Path, report: Mapping[str, Any]) -> dict[str, Any]:
    """run.json as the publication reads it; what a bare report folder lacks stays None."""
    path = folder / RUN_RECORD
    given = _read_json(path) if path.exists() else {}
    if not isinstance(given, dict):
        raise UsageError(f"{path}: expected a JSON object, got {type(given).__name__}")
    client = report["client"]
    return {
        "name": given.get("name") or client["name"],
        "spec": given.get("spec") or client.get("spec", ""),
        "note": given.get("note", ""),
        "command": given.get("command"),
        "baseline": given.get("baseline", report.get("baseline")),
        "package": given.get("package") or client["name"],
        "version": given.get("version") or client.get("version"),
        "python": given.get("python"),
        "exit_code": given.get("exit_code"),
    }


def _baseline_file(folder: Path, report: Mapping[str, Any]) -> Path | None:
    """The baseline the run applied: its copy beside the report, else the path the report
    names, from the current directory (a merge job in the checkout the runs used)."""
    copy = folder / BASELINE_COPY
    if copy.is_file():
        return copy
    named = report.get("baseline")
    if not named:
        return None
    if Path(named).is_file():
        return Path(named)
    # Without it every baselined failure would read "not in the baseline", which is untrue.
    raise UsageError(
        f"{folder / REPORT}: the run applied baseline {named!r}, which is neither beside the "
        f"report ({BASELINE_COPY}) nor at {named} from here: copy it to {copy}"
    )


def _reasons(path: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """The defects the baseline's entries state, and the lines made from their evidence."""
    if path is None:
        return {}, {}
    try:
        return baseline_findings(path)
    except BaselineError as exc:
        raise UsageError(f"{path}: not a baseline this suite reads ({exc})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as exc:
        problem = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(f"{path}: not a baseline this suite reads ({problem})") from None


def read_folder(folder: Path) -> tuple[ClientRecord, Path | None]:
    """One run's record from the folder ``run --report`` wrote, and the baseline file whose
    reasons it carries (UsageError says what is wrong)."""
    report_path = folder / REPORT
    if not report_path.is_file():
        raise UsageError(
            f"{folder}: holds no {REPORT}; pass the folders `b24-conformance run --report` wrote"
        )
    report = _read_json(report_path)
    problem = next(iter(schemas.validator(schemas.uri("report.json")).iter_errors(report)), None)
    if problem is not None:
        where = "".join(f"[{p!r}]" for p in problem.absolute_path) or "the top level"
        raise UsageError(f"{report_path}: not a report.json ({problem.message} at {where})")
    run = _run_record(folder, report)
    name = str(run["name"])
    if not CLIENT_NAME.match(name):
        raise UsageError(
            f"{folder}: client name {name!r} cannot name a badge file: use letters, digits, "
            "'.', '_' and '-' (the Action's `name` input)"
        )
    baseline = _baseline_file(folder, report)
    reasons, observed = _reasons(baseline)
    record = ClientRecord(name, trim_report(report), run, reasons, observed=observed)
    return record, baseline


def read_folders(folders: Iterable[Path]) -> list[tuple[ClientRecord, Path | None]]:
    """The records in the order given; two folders naming one client are a usage error."""
    read: list[tuple[ClientRecord, Path | None]] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        record, baseline = read_folder(folder)
        if record.name in seen:
            raise UsageError(
                f"{seen[record.name]} and {folder} both hold client {record.name!r}: give each "
                "run its own name (the Action's `name` input, run.json's \"name\")"
            )
        seen[record.name] = folder
        read.append((record, baseline))
    return read


def write_merged(out: Path, read: Sequence[tuple[ClientRecord, Path | None]]) -> list[Path]:
    """The publication and the records under ``out``; the paths written."""
    records = [record for record, _ in read]
    written = []
    for relative, text in publication(records, MERGED_BY).items():
        # The publication's paths are the repository's (docs/...); the page is at out's root.
        path = out / relative.removeprefix("docs/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for record, baseline in read:
        kept = out / RECORDS / record.name
        kept.mkdir(parents=True, exist_ok=True)
        (kept / REPORT).write_text(json_text(record.report), encoding="utf-8")
        (kept / RUN_RECORD).write_text(json_text(dict(record.run)), encoding="utf-8")
        written += [kept / REPORT, kept / RUN_RECORD]
        if baseline is not None and baseline.resolve() != (kept / BASELINE_COPY).resolve():
            shutil.copyfile(baseline, kept / BASELINE_COPY)
            written.append(kept / BASELINE_COPY)
    return written


@click.command("merge")
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="compliance-page",
    show_default=True,
    help="Write the page, the badges and the records into this directory.",
)
def merge_command(folders: tuple[Path, ...], out: Path) -> None:
    """Merge the report folders of separate runs (a CI matrix, one job per client) into one
    compliance page, without running anything: compliance.md, .json, .html, badges/ and the
    records under compliance/.

    Each FOLDER is what `b24-conformance run --report` wrote (report.json); run.json and
    baseline.yaml beside it, as the GitHub Action leaves them, name the client and state its
    defects. Exits 0 when every recorded run exited 0, 1 when one did not (the page is written
    anyway), 2 on a usage error.
    """
    read = read_folders(folders)
    records = [record for record, _ in read]
    written = write_merged(out, read)
    click.echo(f"merged {len(records)} runs into {out}")
    for path in written:
        click.echo(f"wrote {path}")
    broken = {r.name: r.run["exit_code"] for r in records if r.run["exit_code"] not in (0, None)}
    for name, code in broken.items():
        click.echo(f"{name}: the run exited {code} (see {out / RECORDS / name / REPORT})", err=True)
    if broken:
        sys.exit(EXIT_NONCONFORMANT)
