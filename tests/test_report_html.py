"""report.html in a real headless browser (Chromium): it renders, its script runs, the console
stays empty, nothing is fetched, and every number on the page equals report.json."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.config import build_config
from conformance.findings import level_counts, verdict
from conformance.reports import write_reports
from conformance.session import RunSession
from tests.fixtures.browser import PageFacts, page_facts, render
from tests.fixtures.common import ROOT

CASES = ("get.not-found", "add.duplicate-code", "get.success", "list.success-with-total")


def _write_run(directory: Path, client: str) -> dict[str, Any]:
    """Run a few cases in stub and replay, write the reports, return report.json."""
    session = RunSession(build_config({"client": client, "mode": ["stub", "replay"]}))
    session.prepare()
    for mode in ("stub", "replay"):
        for case_id in (*CASES, "auth.oauth-get-success"):
            session.run(case_id, mode)
    write_reports(session, directory)
    document: dict[str, Any] = json.loads((directory / "report.json").read_text())
    return document


def expected_counts(document: dict[str, Any]) -> dict[str, int]:
    """What the page's data-count numbers must say, computed from report.json alone."""
    counts = {
        f"{level}.{outcome}": number
        for level, by_outcome in level_counts(document).items()
        for outcome, number in by_outcome.items()
    }
    counts |= {f"all.{outcome}": number for outcome, number in document["summary"].items()}
    failing: dict[str, set[str]] = {}
    for entry in document["cases"]:
        if entry["outcome"] in ("failed", "errored"):
            for check in entry["checks"] or ["errored"]:
                failing.setdefault(check, set()).add(entry["id"])
    counts |= {f"check.{check}": len(ids) for check, ids in failing.items()}
    return counts


def mismatches(facts: PageFacts, document: dict[str, Any]) -> list[str]:
    """Every way the rendered page disagrees with report.json."""
    problems = []
    expected = expected_counts(document)
    for name in sorted(set(expected) | set(facts.counts)):
        if facts.counts.get(name) != expected.get(name):
            problems.append(
                f"{name}: page {facts.counts.get(name)}, report.json {expected.get(name)}"
            )
    cells = Counter(facts.outcomes)
    wanted = Counter(entry["outcome"] for entry in document["cases"])
    if cells != wanted:
        problems.append(f"matrix cells {dict(cells)}, report.json {dict(wanted)}")
    if facts.verdict.strip() != verdict(document):
        problems.append(f"verdict {facts.verdict.strip()!r}, expected {verdict(document)!r}")
    return problems


@pytest.mark.parametrize("client", ["miniature:loses-error-code", "reference"])
def test_report_html_renders_and_equals_report_json(tmp_path: Path, client: str) -> None:
    document = _write_run(tmp_path, client)
    page = tmp_path / "report.html"
    rendered = render(page)
    assert rendered.console == [], f"console of {page}: {rendered.console}"
    facts = page_facts(rendered.dom)
    assert facts.ready, f"the page's script did not run: open {page}"
    assert mismatches(facts, document) == []
    assert facts.fetched == [], "a self-contained page fetches nothing"
    assert facts.counts["all.passed"] == document["summary"]["passed"] > 0


def test_the_browser_checks_catch_a_broken_page(tmp_path: Path) -> None:
    document = _write_run(tmp_path, "miniature:loses-error-code")
    page = tmp_path / "report.html"
    good = page.read_text(encoding="utf-8")
    # A miniature of a broken renderer: one number off, a script that throws.
    broken = good.replace('data-count="all.failed">', 'data-count="all.failed">1', 1).replace(
        "document.documentElement.dataset.ready", "undefinedFunction(); document.x", 1
    )
    assert broken != good
    page.write_text(broken, encoding="utf-8")
    rendered = render(page)
    assert any("undefinedFunction" in line for line in rendered.console), rendered.console
    facts = page_facts(rendered.dom)
    assert not facts.ready
    assert any(problem.startswith("all.failed:") for problem in mismatches(facts, document))


def test_the_compliance_page_shows_clients_by_checks_with_their_badges() -> None:
    page = ROOT / "docs" / "compliance.html"
    rendered = render(page)
    assert rendered.console == [], f"console of {page}: {rendered.console}"
    facts = page_facts(rendered.dom)
    assert facts.ready
    assert facts.fetched == []
    published = json.loads((ROOT / "docs" / "compliance.json").read_text(encoding="utf-8"))
    expected: dict[str, int] = {}
    checks: set[str] = set()
    failing: dict[str, dict[str, set[str]]] = {}
    for client in published["clients"]:
        name = client["name"]
        report = json.loads((ROOT / "docs" / "compliance" / name / "report.json").read_text())
        failing[name] = {}
        for case in report["cases"]:
            if case["outcome"] in ("failed", "xfailed", "errored"):
                for check in case["checks"] or ["errored"]:
                    failing[name].setdefault(check, set()).add(case["id"])
                    checks.add(check)
    for name, by_check in failing.items():
        expected |= {f"{name}.{check}": len(by_check.get(check, ())) for check in checks}
    assert facts.counts == expected
    assert facts.badges == [
        json.loads((ROOT / "docs" / "badges" / f"{c['name']}.json").read_text())["message"]
        for c in published["clients"]
    ]
