"""Run reports: report.json (format: schemas/report.json) and report.md; pytest writes junit.xml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance import __version__, schemas
from conformance.api import Redactor
from conformance.report_html import render_html
from conformance.report_md import render_markdown
from conformance.results import LEVELS, SHOWS_REPRODUCTION
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
        if result.outcome in SHOWS_REPRODUCTION:
            entry["reproduction"] = result.reproduction
            if result.evidence:
                entry["evidence"] = result.evidence
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
        "strict": config.strict,
        "levels": session.level_summary(),
        "smoke": {"verdict": session.smoke_verdict, "lines": session.smoke_lines()},
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


def redacted_document(session: RunSession, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The report.json document of ``session`` with every secret replaced by value."""
    redact = Redactor(secrets)
    loaded: dict[str, Any] = json.loads(
        redact(json.dumps(report_document(session), ensure_ascii=False))
    )
    return loaded


def levels_line(levels: dict[str, dict[str, int]], *, strict: bool) -> str:
    """Shortfalls per level, and which of them decided the exit code."""
    parts = []
    for level in LEVELS:
        counts = levels.get(level, {})
        short = counts.get("failed", 0) + counts.get("errored", 0)
        decides = level == "must" or strict
        parts.append(f"{level} {short} shortfall(s){'' if decides else ' (reported only)'}")
    tail = " (--strict)" if strict else "; should and may fail the run only with --strict"
    return "Levels: " + ", ".join(parts) + tail + "."


def write_reports(
    session: RunSession,
    directory: Path,
    secrets: tuple[str, ...] = (),
    document: dict[str, Any] | None = None,
) -> list[Path]:
    """Write report.json, report.md and report.html into ``directory``; all redacted by value.

    ``document`` is the run's :func:`redacted_document`, when the caller has it already.
    """
    directory.mkdir(parents=True, exist_ok=True)
    redact = Redactor(secrets)
    if document is None:
        document = redacted_document(session, secrets)
    json_path = directory / "report.json"
    json_path.write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path = directory / "report.md"
    md_path.write_text(redact(render_markdown(document)), encoding="utf-8")
    html_path = directory / "report.html"
    html_path.write_text(redact(render_html(document)), encoding="utf-8")
    return [json_path, md_path, html_path]
