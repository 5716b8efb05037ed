"""``b24-conformance compliance``: run the suite against every known client and publish it.

This module is the running half. ``run_clients`` runs ``b24-conformance run`` once per client
(subprocesses, ``--jobs`` at a time, one per core by default, each with its baseline) and
keeps what each run wrote in ``docs/compliance/<client>/``: ``report.json`` (trimmed to what
the publication reads) and ``run.json`` (the command, the client's package version, the
Python version, the exit code). ``load_records`` reads them back with the baselines' reasons,
and the pure ``conformance.publication`` turns them into ``docs/compliance.md``,
``docs/compliance.json`` and ``docs/badges/<client>.json``. The clients and how each is run
are ``conformance.known_clients``.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import click

from conformance import __version__, evidence, schemas
from conformance.baseline import BASELINE_MODES, load_baseline
from conformance.known_clients import KNOWN_CLIENTS, KnownClient
from conformance.publication import ClientRecord, first_line, json_text, publication

#: Where the records live, relative to the repository root.
RECORDS_DIR: Final = "docs/compliance"


# ---------------------------------------------------------------------------------------------
# Records on disk


def baseline_findings(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """By case id: the defect an entry states (its note, else what failed in its evidence,
    else a person's reason) and the line generated from its recorded evidence."""
    headings: dict[str, str] = {}
    observed: dict[str, str] = {}
    for entry in load_baseline(path).entries:
        seen = entry.observed or {}
        mode = next((m for m in (*BASELINE_MODES, *seen) if m in seen), None)
        if mode is not None:
            observed[entry.case] = evidence.describe(seen[mode], mode)
        headings[entry.case] = entry.note or (
            evidence.failed_summary(seen[mode]) if mode is not None else entry.reason
        )
    return headings, observed


def trim_report(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the publication reads of a report.json (still valid against its schema): per case
    the id, mode, level, outcome, the failed checks and the message's first line."""
    keep = ("suite", "client", "mode", "profile", "seed", "started", "baseline", "summary")
    trimmed = {key: document[key] for key in keep if key in document}
    trimmed["baseline_problems"] = list(document.get("baseline_problems", []))
    trimmed["cases"] = [
        {
            "id": case["id"],
            "mode": case.get("mode", ""),
            "level": case.get("level", "must"),
            "outcome": case["outcome"],
            "checks": list(case.get("checks", [])),
            "message": first_line(case.get("message", "")),
            **({"evidence": case["evidence"]} if "evidence" in case else {}),
        }
        for case in document["cases"]
    ]
    return trimmed


def load_records(root: Path, clients: Sequence[KnownClient] = KNOWN_CLIENTS) -> list[ClientRecord]:
    """The kept records of ``clients`` under ``root``/docs/compliance, with their baselines."""
    records = []
    for client in clients:
        directory = root / RECORDS_DIR / client.name
        try:
            report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
            run = json.loads((directory / "run.json").read_text(encoding="utf-8"))
        except OSError as exc:
            raise click.ClickException(
                f"no record of client {client.name!r} in {directory} ({exc.strerror}): "
                f"run `b24-conformance compliance --client {client.name}`"
            ) from None
        baseline = run.get("baseline")
        reasons, observed = baseline_findings(root / baseline) if baseline else ({}, {})
        records.append(ClientRecord(client.name, report, run, reasons, client.findings, observed))
    return records


def findings_pages(root: Path, clients: Sequence[KnownClient] = KNOWN_CLIENTS) -> dict[str, str]:
    """The findings pages of ``clients`` as they are on disk (``docs/<page>``: text)."""
    pages = {}
    for client in clients:
        if client.findings:
            path = root / "docs" / client.findings
            if path.is_file():
                pages[f"docs/{client.findings}"] = path.read_text(encoding="utf-8")
    return pages


def write_publication(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Running the clients


def _version(root: Path, client: KnownClient) -> str | None:
    """The tested version: the Python distribution's, the npm package's in its harness, or
    the one a vendored client's source states."""
    if client.package is None:
        return __version__
    if client.vendored is not None:
        return client.vendored.version(root)
    if client.harness is not None:
        manifest = root / client.harness / "node_modules" / client.package / "package.json"
        try:
            version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return None
        return version if isinstance(version, str) else None
    try:
        return metadata.version(client.package)
    except metadata.PackageNotFoundError:
        return None


def _install_hint(clients: Sequence[KnownClient]) -> str:
    hints = []
    python = [c for c in clients if c.harness is None and c.vendored is None]
    extras = sorted({c.extra or c.package or c.name for c in python})
    if extras:
        hints.append(f"pip install 'b24-conformance[{','.join(extras)}]'")
    hints += [f"npm ci --prefix {c.harness}" for c in clients if c.harness is not None]
    hints += [c.vendored.install for c in clients if c.vendored is not None]
    return " and ".join(hints)


def _what(client: KnownClient) -> str:
    name = client.package or client.name
    return f"{name} (needs {client.vendored.program})" if client.vendored else name


def _missing(root: Path, client: KnownClient) -> bool:
    """Whether the client cannot run here: no version found, or its runtime not on PATH."""
    if client.package is not None and _version(root, client) is None:
        return True
    return client.vendored is not None and shutil.which(client.vendored.program) is None


#: how many client runs go at once by default: one per core. Each run has its pytest-xdist
#: workers already; more runs than cores load the machine until timing verdicts (a backoff's
#: 0.03 s growth, a deadline) follow the scheduler instead of the client.
DEFAULT_JOBS: Final = os.cpu_count() or 2


def run_clients(
    root: Path,
    clients: Sequence[KnownClient],
    *,
    update_baselines: bool = False,
    jobs: int = DEFAULT_JOBS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Run the suite against ``clients``, ``jobs`` at a time; keep each run's records; exit codes.

    ``update_baselines``: each run also rewrites its baseline from what it observed
    (``--baseline-update``), so entries carry the evidence of this very run. ``progress``
    hears a line as each run ends.
    """
    root = root.resolve()
    missing = [c for c in clients if _missing(root, c)]
    if missing:
        raise click.UsageError(
            f"not installed: {', '.join(_what(c) for c in missing)}; "
            f"{_install_hint(missing)} (or pick clients with --client)"
        )
    validator = schemas.validator(schemas.uri("report.json"))
    planned: list[tuple[KnownClient, Path, list[str], list[str]]] = []
    for client in clients:
        directory = root / RECORDS_DIR / client.name
        scratch = directory / "run"
        words = ["b24-conformance", "run", "--client", client.spec, *client.options]
        if client.baseline:
            words += ["--baseline", client.baseline]
        updating = (
            ["--baseline-update", client.baseline] if update_baselines and client.baseline else []
        )
        argv = [
            sys.executable,
            "-m",
            "conformance",
            *words[1:],
            *updating,
            "--report",
            str(scratch),
        ]
        planned.append((client, directory, words, argv))

    def run_one(name: str, argv: list[str]) -> int:
        began = time.monotonic()
        code = subprocess.run(
            argv, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        ).returncode
        if progress is not None:
            progress(f"{name}: exit {code} after {time.monotonic() - began:.0f} s")
        return code

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_one, client.name, argv) for client, _, _, argv in planned]
        exits = [future.result() for future in futures]
    started = [
        (client, directory, words, code)
        for (client, directory, words, _), code in zip(planned, exits, strict=True)
    ]
    codes = {}
    for client, directory, words, code in started:
        codes[client.name] = code
        report_path = directory / "run" / "report.json"
        if not report_path.exists():
            raise click.ClickException(
                f"{client.name}: `{shlex.join(words)}` exited {code} without a report"
            )
        report = trim_report(json.loads(report_path.read_text(encoding="utf-8")))
        problems = list(validator.iter_errors(report))
        if problems:
            raise click.ClickException(f"{report_path}: {problems[0].message}")
        run = {
            "spec": client.spec,
            "note": client.note,
            "command": shlex.join(words),
            "baseline": client.baseline,
            "package": client.package or "b24-conformance",
            "version": _version(root, client),
            "python": platform.python_version(),
            "exit_code": code,
        }
        (directory / "report.json").write_text(json_text(report), encoding="utf-8")
        (directory / "run.json").write_text(json_text(run), encoding="utf-8")
        for produced in (directory / "run").iterdir():
            produced.unlink()
        (directory / "run").rmdir()
    return codes


@click.command("compliance")
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="The repository root (holds baselines/ and docs/).",
)
@click.option(
    "--client",
    "names",
    multiple=True,
    type=click.Choice([c.name for c in KNOWN_CLIENTS]),
    help="Run only this client (repeatable); the others' kept records are reused.",
)
@click.option(
    "--no-run",
    is_flag=True,
    help="Run nothing: regenerate the publication from the kept records.",
)
@click.option(
    "--update-baselines",
    is_flag=True,
    help="Also rewrite each client's baseline from its run (--baseline-update): every entry "
    "then carries the evidence of the kept run; notes stay.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default="one per core",
    help="How many client runs go at once (each has its own pytest-xdist workers).",
)
def compliance_command(
    root: Path, names: tuple[str, ...], no_run: bool, update_baselines: bool, jobs: int
) -> None:
    """Run the suite against every known client and write docs/compliance.md, .json, .html
    (clients x checks) and badges.

    Exits 0 when every run honoured its baseline, 1 when one did not (the publication is
    written anyway), 2 on a usage error.
    """
    if not (root / "baselines").is_dir():
        raise click.UsageError(f"--root {str(root)!r} holds no baselines/: expected the repository")
    if update_baselines and no_run:
        raise click.UsageError("--update-baselines needs a run: drop --no-run")
    codes: dict[str, int] = {}
    if not no_run:
        chosen = [c for c in KNOWN_CLIENTS if not names or c.name in names]
        click.echo(f"running {', '.join(c.name for c in chosen)} ({jobs} at a time)")
        codes = run_clients(
            root, chosen, update_baselines=update_baselines, jobs=jobs, progress=click.echo
        )
    files = publication(load_records(root), pages=findings_pages(root))
    write_publication(root, files)
    for path in files:
        click.echo(f"wrote {path}")
    broken = {name: code for name, code in codes.items() if code != 0}
    for name, code in broken.items():
        click.echo(
            f"{name}: the run exited {code} (see {RECORDS_DIR}/{name}/report.json)", err=True
        )
    if broken:
        sys.exit(1)
