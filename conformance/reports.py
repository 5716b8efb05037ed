"""Run reports: report.json (format: schemas/report.json) and report.md; pytest writes junit.xml."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from conformance import __version__, schemas
from conformance.api import Redactor
from conformance.case import case_by_id
from conformance.results import OUTCOMES
from conformance.session import RunSession


class ReportError(RuntimeError):
    """A report that breaks its own schema: a bug in the suite, never in the client."""


def report_document(session: RunSession) -> dict[str, Any]:
    config = session.config
    cases = []
    for result in session.results:
        entry: dict[str, Any] = {
            "id": result.case_id,
            "mode": result.mode,
            "level": result.level,
            "outcome": result.outcome,
            "message": result.message,
            "checks": sorted({f.check for f in result.failures}),
            "requests": result.requests,
            "duration": round(result.duration, 4),
        }
        if result.outcome in ("failed", "errored", "xfailed"):
            entry["reproduction"] = result.reproduction
            entry["rerun"] = result.rerun or session.rerun_command(result.case_id, result.mode)
        cases.append(entry)
    document = {
        "suite": {"version": __version__},
        "client": {
            "name": session.adapter_name,
            "spec": config.client,
            "version": session.client_version,
            "capabilities": sorted(session.capabilities),
        },
        "mode": "+".join(config.modes),
        # The scripted answers follow the wire profile (what portals send); the docs profile
        # is for validating bodies (`validate --profile docs`), not for serving cases.
        "profile": "wire",
        "seed": config.seed,
        "started": session.started_iso,
        "duration": round(max(0.0, _now() - session.started), 3),
        "baseline": config.baseline.path or None,
        "cases": cases,
        "baseline_problems": list(session.baseline_problems),
        "baseline_notes": list(session.baseline_notes),
        "summary": session.summary(),
    }
    if session.interrupted:
        document["interrupted"] = {
            "not_run": [{"id": item, "mode": mode} for item, mode in session.not_run()]
        }
    problems = list(schemas.validator(schemas.uri("report.json")).iter_errors(document))
    if problems:
        raise ReportError(f"report.json breaks schemas/report.json: {problems[0].message}")
    return document


def _now() -> float:
    import time

    return time.time()


def render_markdown(document: dict[str, Any]) -> str:
    version = document["client"].get("version")
    lines = [
        f"# b24-conformance report: {document['client']['name']}"
        + (f" {version}" if version else ""),
        "",
        f"Client {document['client']['name']} version {version or '(not declared)'}.",
        "",
        f"Suite {document['suite']['version']}, mode {document['mode']}, profile "
        f"{document['profile']}, seed {document['seed']}, started {document['started']}.",
        "",
        "## Summary",
        "",
    ]
    modes = sorted({c["mode"] for c in document["cases"]})
    lines.append("| mode | level | " + " | ".join(OUTCOMES) + " |")
    lines.append("|---|---|" + "---|" * len(OUTCOMES))
    for mode in modes:
        for level in ("must", "should", "may"):
            counts = Counter(
                c["outcome"] for c in document["cases"] if c["mode"] == mode and c["level"] == level
            )
            if counts:
                cells = " | ".join(str(counts.get(o, 0)) for o in OUTCOMES)
                lines.append(f"| {mode} | {level} | {cells} |")
    total = " | ".join(str(document["summary"][o]) for o in OUTCOMES)
    lines.append(f"| **all** | | {total} |")
    for problem in document["baseline_problems"]:
        lines += ["", f"**Baseline problem:** {problem}"]
    for note in document.get("baseline_notes", ()):
        lines += ["", f"Baseline note: {note}"]
    if "interrupted" in document:
        lines += _interrupted_lines(document["interrupted"]["not_run"])
    failing = [c for c in document["cases"] if c["outcome"] in ("failed", "errored")]
    lines += ["", "## Failures", ""]
    if not failing:
        lines.append("None.")
    for entry in failing:
        description = case_by_id(entry["id"]).description if _known(entry["id"]) else ""
        lines += [
            f"### {entry['id']} ({entry['mode']}, {entry['level']}): {entry['outcome']}",
            "",
            description,
            "",
            "```",
            entry["message"],
            "```",
            "",
            "Reproduce:",
            "",
            "```sh",
            entry.get("reproduction", ""),
            "```",
            "",
            f"Rerun: `{entry.get('rerun', '')}`",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _interrupted_lines(not_run: list[dict[str, str]]) -> list[str]:
    lines = [
        "",
        f"**Interrupted:** the run was stopped before it ended; {len(not_run)} selected "
        "case(s) did not run, so this report is incomplete and the summary is no verdict.",
        "",
    ]
    lines += [f"- {entry['id']} ({entry['mode']})" for entry in not_run[:200]]
    if len(not_run) > 200:
        lines.append(f"- ... and {len(not_run) - 200} more (report.json lists them all)")
    return lines


def _known(case_id: str) -> bool:
    try:
        case_by_id(case_id)
    except KeyError:
        return False
    return True


def write_reports(
    session: RunSession, directory: Path, secrets: tuple[str, ...] = ()
) -> list[Path]:
    """Write report.json and report.md into ``directory``; every text redacted by value."""
    directory.mkdir(parents=True, exist_ok=True)
    redact = Redactor(secrets)
    document = json.loads(redact(json.dumps(report_document(session), ensure_ascii=False)))
    json_path = directory / "report.json"
    json_path.write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path = directory / "report.md"
    md_path.write_text(redact(render_markdown(document)), encoding="utf-8")
    return [json_path, md_path]
