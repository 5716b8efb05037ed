"""``b24-conformance compliance``: run the suite against every known client and publish it.

Two halves. ``run_clients`` runs ``b24-conformance run`` once per client (subprocesses, in
parallel, portal mode, each with its baseline) and keeps what each run wrote in
``docs/compliance/<client>/``: ``report.json`` (trimmed to what the publication reads) and
``run.json`` (the command, the client's package version, the Python version, the exit code).
``publication`` turns those records and the baselines into ``docs/compliance.md``,
``docs/compliance.json`` and ``docs/badges/<client>.json``: a pure function, so a test can
regenerate the committed files from the committed records and prove nobody edited them.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import click
import yaml

from conformance import __version__, schemas

LEVELS: Final = ("must", "should", "may")
#: Where the records and the publication live, relative to the repository root.
RECORDS_DIR: Final = "docs/compliance"
PUBLISHED: Final = ("docs/compliance.md", "docs/compliance.json")
BADGES_DIR: Final = "docs/badges"
#: What a matrix cell shows for a case's verdict.
MARKS: Final = {"pass": "✅", "fail": "❌", "skip": "⏭️"}


@dataclass(frozen=True)
class KnownClient:
    """A client the compliance report covers, and how its run is made."""

    name: str
    spec: str
    #: the `run` options beyond --client, --baseline and --report
    options: tuple[str, ...]
    baseline: str | None
    #: the distribution whose version is tested (None: this suite itself)
    package: str | None
    extra: str | None = None
    #: what a reader of the matrix needs to know about this client's adapter
    note: str = ""


KNOWN_CLIENTS: Final = (
    KnownClient("reference", "reference", ("--mode", "portal"), None, None),
    KnownClient(
        "b24pysdk",
        "conformance.adapters.b24pysdk:factory",
        ("--mode", "portal", "--tls"),
        "baselines/b24pysdk.yaml",
        "b24pysdk",
        "b24pysdk",
    ),
    KnownClient(
        "fast-bitrix24",
        "conformance.adapters.fast_bitrix24:factory",
        ("--mode", "portal"),
        "baselines/fast-bitrix24.yaml",
        "fast-bitrix24",
        "fast-bitrix24",
        note="call(raw=True) hands the application the parsed body, so the adapter reads the "
        "envelope; the cases judge what fast-bitrix24 itself does: HTTP errors, retries, "
        "encoding, timeouts",
    ),
    KnownClient(
        "fast-bitrix24-default",
        "conformance.adapters.fast_bitrix24:factory_default",
        ("--mode", "portal"),
        "baselines/fast-bitrix24-default.yaml",
        "fast-bitrix24",
        "fast-bitrix24",
        note="the API fast-bitrix24 leads with: call() sends get, add and delete as batch "
        "commands, which the per-method cases count as the wrong endpoint, so most of its "
        "matrix shows that one design choice; get_all() serves list",
    ),
)


@dataclass(frozen=True)
class ClientRecord:
    """One client's run as the publication reads it."""

    name: str
    #: report.json of the run (format: schemas/report.json)
    report: Mapping[str, Any]
    #: run.json: spec, command, package, version, python, exit_code
    run: Mapping[str, Any]
    #: the baseline's reason by case id (empty without a baseline)
    reasons: Mapping[str, str]


# ---------------------------------------------------------------------------------------------
# The publication: a pure function of the records


def _verdict(outcomes: Iterable[str]) -> str:
    """One case over the modes it ran in: a failure anywhere fails it; all skipped skips it."""
    seen = set(outcomes)
    if seen & {"failed", "xfailed", "errored"}:
        return "fail"
    if "passed" in seen:
        return "pass"
    return "skip"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def defect_statements(reason: str) -> list[str]:
    """The defects a baseline reason states: one, or several separated by ``"; "``."""
    return [part.strip() for part in reason.split("; ") if part.strip()]


def _client_entry(record: ClientRecord) -> dict[str, Any]:
    report, run = record.report, record.run
    by_case: dict[str, list[Mapping[str, Any]]] = {}
    for case in report["cases"]:
        by_case.setdefault(case["id"], []).append(case)
    verdicts = {cid: _verdict(c["outcome"] for c in cases) for cid, cases in by_case.items()}
    levels = {cid: cases[0].get("level", "must") for cid, cases in by_case.items()}
    summary: dict[str, dict[str, int]] = {}
    for level in (*LEVELS, "all"):
        counts = {"pass": 0, "fail": 0, "skip": 0}
        for cid, verdict in verdicts.items():
            if level in ("all", levels[cid]):
                counts[verdict] += 1
        summary[level] = counts
    defects: dict[str, list[str]] = {}
    skips: dict[str, list[str]] = {}
    for cid, verdict in verdicts.items():
        if verdict == "fail":
            reason = record.reasons.get(cid) or (
                "not in the baseline: " + _first_line(by_case[cid][0].get("message", ""))
            )
            for statement in defect_statements(reason):
                defects.setdefault(statement, []).append(cid)
        elif verdict == "skip":
            skips.setdefault(_first_line(by_case[cid][0].get("message", "")), []).append(cid)
    entry = {
        "name": record.name,
        "adapter": report["client"]["name"],
        "spec": run.get("spec", report["client"].get("spec", "")),
        "package": run.get("package"),
        "version": run.get("version") or report["client"].get("version"),
        "python": run.get("python"),
        "command": run.get("command"),
        "note": run.get("note", ""),
        "exit_code": run.get("exit_code"),
        "mode": report["mode"],
        "profile": report["profile"],
        "capabilities": list(report["client"].get("capabilities", [])),
        "baseline": report.get("baseline"),
        "started": report.get("started"),
        "summary": summary,
        "defects": [{"reason": r, "cases": ids} for r, ids in defects.items()],
        "skipped": [{"reason": r, "cases": ids} for r, ids in skips.items()],
    }
    entry["badge"] = badge(entry)
    return entry


def _percent(counts: Mapping[str, int]) -> int | None:
    judged = counts["pass"] + counts["fail"]
    return None if judged == 0 else int(100 * counts["pass"] / judged)


def badge(client: Mapping[str, Any]) -> dict[str, Any]:
    """The shields.io endpoint document of a client: passed of judged, the must rate, a color."""
    summary = client["summary"]
    everything, must = summary["all"], summary["must"]
    judged = everything["pass"] + everything["fail"]
    must_rate = _percent(must)
    if everything["fail"] == 0:
        color = "brightgreen"
    elif must["fail"] == 0 and must["pass"] > 0:
        color = "green"
    elif must_rate is not None and must_rate >= 90:
        color = "yellow"
    elif must_rate is not None and must_rate >= 50:
        color = "orange"
    else:
        color = "red"
    rate = "n/a" if must_rate is None else f"{must_rate}%"
    # The version the numbers hold for: a badge outlives the release it was made for.
    version = f" ({client['version']})" if client.get("version") else ""
    return {
        "schemaVersion": 1,
        "label": "crm.activity.badge conformance",
        "message": f"{everything['pass']}/{judged} passed, must {rate}{version}",
        "color": color,
    }


def compliance_document(records: Sequence[ClientRecord]) -> dict[str, Any]:
    """docs/compliance.json: the clients, the case matrix and the defects, from the records."""
    if not records:
        raise ValueError("no client records: nothing to publish")
    clients = [_client_entry(record) for record in records]
    order: dict[str, str] = {}
    for record in records:
        for case in record.report["cases"]:
            order.setdefault(case["id"], case.get("level", "must"))
    verdicts = {
        record.name: {
            cid: _verdict(c["outcome"] for c in record.report["cases"] if c["id"] == cid)
            for cid in {c["id"] for c in record.report["cases"]}
        }
        for record in records
    }
    matrix = [
        {
            "id": cid,
            "level": level,
            "results": {r.name: verdicts[r.name].get(cid, "skip") for r in records},
        }
        for level in LEVELS
        for cid, case_level in order.items()
        if case_level == level
    ]
    started = sorted(str(r.report.get("started") or "") for r in records)
    suites = sorted({str(r.report["suite"]["version"]) for r in records})
    return {
        "generated_by": "b24-conformance compliance",
        "date": started[-1][:10],
        "suite": {"version": ", ".join(suites)},
        "levels": list(LEVELS),
        "clients": clients,
        "cases": matrix,
    }


def _rate(counts: Mapping[str, int]) -> str:
    percent = _percent(counts)
    judged = counts["pass"] + counts["fail"]
    shown = "n/a" if percent is None else f"{percent}%"
    skipped = f", {counts['skip']} skipped" if counts["skip"] else ""
    return f"{shown} ({counts['pass']}/{judged}{skipped})"


def _tested(client: Mapping[str, Any]) -> str:
    return f"{client['package']} {client['version'] or '(version unknown)'}"


def render_markdown(document: Mapping[str, Any]) -> str:
    """docs/compliance.md, from docs/compliance.json."""
    clients = document["clients"]
    names = [c["name"] for c in clients]
    lines = [
        "# Compliance of Bitrix24 clients with the crm.activity.badge.* contract",
        "",
        "<!-- Generated by `b24-conformance compliance` from docs/compliance/*/; do not edit. -->",
        "",
        f"Generated by `b24-conformance compliance` on {document['date']} from the runs kept in",
        "[`compliance/`](compliance/) (one `report.json` and `run.json` per client); suite "
        f"{document['suite']['version']}. Each client ran the whole catalogue and the generated-"
        "input properties against the fake portal (`--mode portal`), through its adapter, with "
        "its baseline. A case *fails* when a check did not hold (listed in the baseline) and is "
        "*skipped* when the adapter does not declare a capability the case needs.",
        "",
        "## Clients",
        "",
        "| client | tested | mode | capabilities | must | should | may | all | badge |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in clients:
        caps = ", ".join(c["capabilities"]) or "none"
        rates = " | ".join(_rate(c["summary"][level]) for level in (*LEVELS, "all"))
        lines.append(
            f"| `{c['name']}` | {_tested(c)} | {c['mode']} | {caps} | {rates} | "
            f"[`badges/{c['name']}.json`](badges/{c['name']}.json) |"
        )
    lines += [
        "",
        "Percentages are passed of judged (passed + failed); skipped cases are not judged. The "
        "badges are [shields.io endpoint](https://shields.io/badges/endpoint-badge) documents.",
        "",
        "How each client ran:",
        "",
    ]
    for c in clients:
        python = f", Python {c['python']}" if c.get("python") else ""
        note = f". Note: {c['note']}." if c.get("note") else ""
        lines.append(f"- `{c['name']}`: `{c['command']}` (exit {c['exit_code']}{python}){note}")
    lines += [
        "",
        "## Defects found",
        "",
        "Each defect is a statement from the client's baseline (checked against the client's "
        "source), with every case that shows it.",
        "",
    ]
    for c in clients:
        lines += [f"### {c['name']} ({_tested(c)})", ""]
        if not c["defects"]:
            lines += ["None: every judged case passed.", ""]
        for defect in c["defects"]:
            ids = ", ".join(f"`{cid}`" for cid in defect["cases"])
            lines.append(f"- {defect['reason']}. Cases: {ids}")
        if c["defects"]:
            lines.append("")
        for skip in c["skipped"]:
            ids = ", ".join(f"`{cid}`" for cid in skip["cases"])
            lines.append(f"- Skipped, {skip['reason']}: {ids}")
        if c["skipped"]:
            lines.append("")
    lines += [
        "## Matrix",
        "",
        f"{MARKS['pass']} passed, {MARKS['fail']} failed, {MARKS['skip']} skipped. Case ids "
        "are those of `b24-conformance cases`; `property.*` are the generated-input properties.",
        "",
    ]
    for level in LEVELS:
        rows = [case for case in document["cases"] if case["level"] == level]
        if not rows:
            continue
        lines += [
            f"### {level} ({len(rows)} cases)",
            "",
            "| case | " + " | ".join(f"`{n}`" for n in names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for case in rows:
            cells = " | ".join(MARKS[case["results"][n]] for n in names)
            lines.append(f"| `{case['id']}` | {cells} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def publication(records: Sequence[ClientRecord]) -> dict[str, str]:
    """Every generated file, by its path relative to the repository root, as text."""
    document = compliance_document(records)
    files = {
        "docs/compliance.json": _json_text(document),
        "docs/compliance.md": render_markdown(document),
    }
    for client in document["clients"]:
        files[f"{BADGES_DIR}/{client['name']}.json"] = _json_text(client["badge"])
    return files


# ---------------------------------------------------------------------------------------------
# Records on disk


def baseline_reasons(path: Path) -> dict[str, str]:
    """The baseline's reason by case id."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {entry["case"]: entry["reason"] for entry in document["expected_failures"]}


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
            "message": _first_line(case.get("message", "")),
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
        reasons = baseline_reasons(root / baseline) if baseline else {}
        records.append(ClientRecord(client.name, report, run, reasons))
    return records


def write_publication(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Running the clients


def _version(client: KnownClient) -> str | None:
    if client.package is None:
        return __version__
    try:
        return metadata.version(client.package)
    except metadata.PackageNotFoundError:
        return None


def run_clients(root: Path, clients: Sequence[KnownClient]) -> dict[str, int]:
    """Run the suite against ``clients`` in parallel; keep each run's records; exit codes."""
    missing = [c for c in clients if c.package is not None and _version(c) is None]
    if missing:
        extras = ",".join(sorted({c.extra or c.package or c.name for c in missing}))
        raise click.UsageError(
            f"not installed: {', '.join(c.package or c.name for c in missing)}; "
            f"pip install 'b24-conformance[{extras}]' (or pick clients with --client)"
        )
    root = root.resolve()
    validator = schemas.validator(schemas.uri("report.json"))
    started: list[tuple[KnownClient, Path, list[str], subprocess.Popen[bytes]]] = []
    for client in clients:
        directory = root / RECORDS_DIR / client.name
        scratch = directory / "run"
        words = ["b24-conformance", "run", "--client", client.spec, *client.options]
        if client.baseline:
            words += ["--baseline", client.baseline]
        argv = [sys.executable, "-m", "conformance", *words[1:], "--report", str(scratch)]
        process = subprocess.Popen(
            argv, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started.append((client, directory, words, process))
    codes = {}
    for client, directory, words, process in started:
        code = process.wait()
        codes[client.name] = code
        report_path = directory / "run" / "report.json"
        if not report_path.exists():
            raise click.ClickException(
                f"{client.name}: `{' '.join(words)}` exited {code} without a report"
            )
        report = trim_report(json.loads(report_path.read_text(encoding="utf-8")))
        problems = list(validator.iter_errors(report))
        if problems:
            raise click.ClickException(f"{report_path}: {problems[0].message}")
        run = {
            "spec": client.spec,
            "note": client.note,
            "command": " ".join(words),
            "baseline": client.baseline,
            "package": client.package or "b24-conformance",
            "version": _version(client),
            "python": platform.python_version(),
            "exit_code": code,
        }
        (directory / "report.json").write_text(_json_text(report), encoding="utf-8")
        (directory / "run.json").write_text(_json_text(run), encoding="utf-8")
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
def compliance_command(root: Path, names: tuple[str, ...], no_run: bool) -> None:
    """Run the suite against every known client and write docs/compliance.md, .json and badges.

    Exits 0 when every run honoured its baseline, 1 when one did not (the publication is
    written anyway), 2 on a usage error.
    """
    if not (root / "baselines").is_dir():
        raise click.UsageError(f"--root {str(root)!r} holds no baselines/: expected the repository")
    codes: dict[str, int] = {}
    if not no_run:
        chosen = [c for c in KNOWN_CLIENTS if not names or c.name in names]
        click.echo(f"running {', '.join(c.name for c in chosen)} (portal mode, in parallel)")
        codes = run_clients(root, chosen)
    files = publication(load_records(root))
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
