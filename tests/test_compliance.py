"""The compliance publication: a pure function of the kept run records and the baselines."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from conformance import schemas
from conformance.compliance import (
    RECORDS_DIR,
    compliance_command,
    findings_pages,
    load_records,
    run_clients,
    trim_report,
)
from conformance.known_clients import KNOWN_CLIENTS
from conformance.publication import (
    BADGES_DIR,
    ClientRecord,
    badge,
    compliance_document,
    publication,
    render_markdown,
)
from tests.fixtures.common import ROOT


def _case(cid: str, outcome: str, level: str = "must", mode: str = "portal", message: str = ""):
    return {"id": cid, "mode": mode, "level": level, "outcome": outcome, "message": message}


def _report(name: str, cases: list[dict[str, Any]], started: str) -> dict[str, Any]:
    return {
        "suite": {"version": "9.9.9"},
        "client": {"name": name, "spec": f"{name}:factory", "capabilities": ["status"]},
        "mode": "portal",
        "profile": "wire",
        "seed": None,
        "started": started,
        "baseline": f"baselines/{name}.yaml",
        "cases": cases,
        "baseline_problems": [],
        "summary": {"passed": 0, "failed": 0, "xfailed": 0, "skipped": 0, "errored": 0},
    }


def _record(
    name: str,
    cases: list[dict[str, Any]],
    reasons: dict[str, str],
    started: str,
    observed: dict[str, str] | None = None,
):
    run = {
        "spec": f"{name}:factory",
        "command": f"b24-conformance run --client {name}:factory",
        "package": name,
        "version": "1.0",
        "python": "3.12.0",
        "exit_code": 0,
    }
    return ClientRecord(name, _report(name, cases, started), run, reasons, "", observed or {})


GOOD = _record(
    "good",
    [
        _case("get.success", "passed"),
        _case("get.not-found", "passed"),
        _case("list.empty", "passed", "should"),
        _case("auth.error-oauth", "skipped", "may", message="needs capability 'oauth' (...)"),
    ],
    {},
    "2026-01-02T10:00:00+00:00",
)
BAD = _record(
    "bad",
    [
        _case("get.success", "passed"),
        _case("get.success", "xfailed", mode="stub"),
        _case("get.not-found", "xfailed"),
        _case("list.empty", "errored", "should", message="an exception escaped\nTraceback"),
        _case("auth.error-oauth", "passed", "may"),
    ],
    {"get.success": "loses the code", "get.not-found": "loses the code"},
    "2026-01-03T09:00:00+00:00",
    {"get.not-found": "portal: crm.activity.badge.get: 1 request -> outcome.code (must)"},
)


def test_the_committed_publication_is_what_the_kept_records_generate() -> None:
    files = publication(load_records(ROOT), pages=findings_pages(ROOT))
    assert {f"docs/{c.findings}" for c in KNOWN_CLIENTS if c.findings} <= set(files)
    for relative, text in files.items():
        committed = (ROOT / relative).read_text(encoding="utf-8")
        assert committed == text, f"{relative} differs: run `b24-conformance compliance --no-run`"
    badges = {p.relative_to(ROOT).as_posix() for p in (ROOT / BADGES_DIR).glob("*.json")}
    assert badges == {path for path in files if path.startswith(BADGES_DIR)}


def test_the_kept_reports_are_valid_reports_of_every_known_client() -> None:
    validator = schemas.validator(schemas.uri("report.json"))
    for client in KNOWN_CLIENTS:
        report = json.loads((ROOT / RECORDS_DIR / client.name / "report.json").read_text())
        assert list(validator.iter_errors(report)) == []
        assert report["client"]["spec"] == client.spec


def test_a_case_failing_in_any_mode_fails_and_the_summary_counts_per_level() -> None:
    document = compliance_document([GOOD, BAD])
    assert document["date"] == "2026-01-03"
    assert document["suite"] == {"version": "9.9.9"}
    rows = {row["id"]: (row["level"], row["results"]) for row in document["cases"]}
    assert rows == {
        "get.success": ("must", {"good": "pass", "bad": "fail"}),
        "get.not-found": ("must", {"good": "pass", "bad": "fail"}),
        "list.empty": ("should", {"good": "pass", "bad": "fail"}),
        "auth.error-oauth": ("may", {"good": "skip", "bad": "pass"}),
    }
    assert [row["id"] for row in document["cases"]][-1] == "auth.error-oauth"
    good, bad = document["clients"]
    assert good["summary"]["may"] == {"pass": 0, "fail": 0, "skip": 1}
    assert bad["summary"]["must"] == {"pass": 0, "fail": 2, "skip": 0}
    assert bad["summary"]["all"] == {"pass": 1, "fail": 3, "skip": 0}


def test_defects_are_the_baseline_statements_with_the_cases_that_show_them() -> None:
    good, bad = compliance_document([GOOD, BAD])["clients"]
    assert good["defects"] == []
    assert good["skipped"] == [
        {"reason": "needs capability 'oauth' (...)", "cases": ["auth.error-oauth"]}
    ]
    assert bad["defects"] == [
        {
            "reason": "loses the code",
            "cases": ["get.success", "get.not-found"],
            "observed": {
                "get.not-found": "portal: crm.activity.badge.get: 1 request -> outcome.code (must)"
            },
        },
        {
            "reason": "not in the baseline: an exception escaped",
            "cases": ["list.empty"],
            "observed": {},
        },
    ]


@pytest.mark.parametrize(
    ("must", "everything", "color"),
    [
        ((10, 0), (12, 0), "brightgreen"),
        ((10, 0), (11, 1), "green"),
        ((9, 1), (9, 1), "yellow"),
        ((5, 5), (5, 5), "orange"),
        ((4, 6), (4, 6), "red"),
        ((0, 0), (0, 3), "red"),
    ],
)
def test_badge_color_follows_the_must_rate(
    must: tuple[int, int], everything: tuple[int, int], color: str
) -> None:
    summary = {
        "must": {"pass": must[0], "fail": must[1], "skip": 0},
        "all": {"pass": everything[0], "fail": everything[1], "skip": 2},
    }
    document = badge({"summary": summary})
    assert document["schemaVersion"] == 1
    assert document["color"] == color
    assert document["message"].startswith(f"{everything[0]}/{sum(everything)} passed")


@pytest.mark.parametrize(
    ("run_json", "report_client", "message_end"),
    [
        ({"version": "1.3.2"}, {}, "(1.3.2)"),
        ({}, {"version": "2.0"}, "(2.0)"),
        ({}, {"version": None}, "must 100%"),
    ],
)
def test_the_badge_carries_the_client_version(
    run_json: dict[str, str], report_client: dict[str, str | None], message_end: str
) -> None:
    report = {**GOOD.report, "client": {**GOOD.report["client"], **report_client}}
    record = ClientRecord(
        GOOD.name, report, {k: v for k, v in GOOD.run.items() if k != "version"} | run_json, {}
    )
    client = compliance_document([record])["clients"][0]
    assert client["badge"]["message"].endswith(message_end)


def test_the_markdown_shows_clients_defects_and_the_matrix() -> None:
    text = render_markdown(compliance_document([GOOD, BAD]))
    assert "| `good` | good 1.0 | portal | status | 100% (2/2) |" in text
    assert "- loses the code. Cases: `get.success`, `get.not-found`" in text
    assert (
        "  - `get.not-found`, observed: portal: crm.activity.badge.get: 1 request -> "
        "outcome.code (must)" in text
    )
    assert "| `get.success` | ✅ | ❌ |" in text
    assert "### may (1 cases)" in text
    assert "do not edit" in text


def test_publication_names_every_file_it_generates() -> None:
    files = publication([GOOD, BAD])
    assert set(files) == {
        "docs/compliance.json",
        "docs/compliance.md",
        "docs/compliance.html",
        "docs/badges/good.json",
        "docs/badges/bad.json",
    }
    assert json.loads(files["docs/badges/bad.json"])["color"] == "red"


def test_trimmed_reports_keep_what_the_publication_reads_and_their_schema() -> None:
    full = _report("bad", BAD.report["cases"], "2026-01-03T09:00:00+00:00")
    full["cases"][0].update(reproduction="curl ...", rerun="b24-conformance run ...", duration=1.0)
    trimmed = trim_report(full)
    assert list(schemas.validator(schemas.uri("report.json")).iter_errors(trimmed)) == []
    assert trimmed["cases"][3]["message"] == "an exception escaped"
    assert "reproduction" not in trimmed["cases"][0]
    record = ClientRecord("bad", trimmed, BAD.run, BAD.reasons, observed=BAD.observed)
    assert compliance_document([record]) == compliance_document([BAD])


def test_the_command_regenerates_from_kept_records_without_running(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "baselines", tmp_path / "baselines")
    shutil.copytree(ROOT / RECORDS_DIR, tmp_path / RECORDS_DIR)
    result = CliRunner().invoke(compliance_command, ["--root", str(tmp_path), "--no-run"])
    assert result.exit_code == 0, result.output
    for relative, text in publication(load_records(ROOT)).items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == text


def test_the_command_wants_the_repository_root(tmp_path: Path) -> None:
    result = CliRunner().invoke(compliance_command, ["--root", str(tmp_path), "--no-run"])
    assert result.exit_code == 2
    assert "baselines/" in result.output


def test_a_clients_findings_page_is_linked_from_its_section() -> None:
    linked = ClientRecord(BAD.name, BAD.report, BAD.run, BAD.reasons, "bad.md")
    document = compliance_document([GOOD, linked])
    assert [c["findings"] for c in document["clients"]] == ["", "bad.md"]
    text = render_markdown(document)
    assert "### bad (bad 1.0)\n\nHow each defect shows on the wire" in text
    assert "[`bad.md`](bad.md)" in text
    assert text.count("How each defect shows on the wire") == 1


def test_every_known_client_names_pages_and_harnesses_that_exist() -> None:
    for client in KNOWN_CLIENTS:
        if client.findings:
            assert (ROOT / "docs" / client.findings).is_file(), client.name
        if client.harness:
            assert (ROOT / client.harness / "package-lock.json").is_file(), client.name
            assert client.spec.startswith(f"cmd:node {client.harness}/"), client.name
        if client.baseline:
            assert (ROOT / client.baseline).is_file(), client.name
        if client.vendored:
            assert (ROOT / client.vendored.source).is_file(), client.name


def test_a_node_client_without_its_harness_installed_is_a_usage_error(tmp_path: Path) -> None:
    node = [c for c in KNOWN_CLIENTS if c.harness is not None]
    assert {c.name for c in node} == {"b24jssdk", "2bad-bitrix"}
    with pytest.raises(click.UsageError) as caught:
        run_clients(tmp_path, node)
    message = caught.value.message
    assert "not installed: @bitrix24/b24jssdk, @2bad/bitrix" in message
    assert "npm ci --prefix harnesses/node-b24jssdk" in message
    assert "npm ci --prefix harnesses/node-2bad-bitrix" in message
    assert "pip install" not in message


def test_a_vendored_client_reads_its_version_from_its_source() -> None:
    crest = next(c for c in KNOWN_CLIENTS if c.vendored is not None)
    assert crest.vendored is not None
    assert crest.spec.startswith(f"cmd:{crest.vendored.program} harnesses/php-crest/")
    assert crest.vendored.version(ROOT) == "1.36"


def test_a_vendored_client_without_its_runtime_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crest = next(c for c in KNOWN_CLIENTS if c.vendored is not None)
    shutil.copytree(ROOT / "harnesses" / "php-crest", tmp_path / "harnesses" / "php-crest")
    monkeypatch.setattr("conformance.compliance.shutil.which", lambda program: None)
    with pytest.raises(click.UsageError) as caught:
        run_clients(tmp_path, [crest])
    message = caught.value.message
    assert "not installed: bitrix-tools/crest (needs php)" in message
    assert "apt-get install php-cli php-curl" in message
    assert "pip install" not in message


@pytest.mark.parametrize("jobs", [1, 2])
def test_client_runs_go_at_most_jobs_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    # Every run's subprocess is replaced by one that counts how many are going at once; none
    # writes a report, so run_clients stops after all have ended, saying which had none.
    import threading

    going, most, lock = 0, 0, threading.Lock()
    another_started = threading.Event()

    def fake_run(argv: list[str], **_: Any) -> Any:
        nonlocal going, most
        with lock:
            going += 1
            most = max(most, going)
            if going > 1:
                another_started.set()
        # Each run waits a little for another to start beside it: it may only if jobs allow.
        another_started.wait(timeout=0.3)
        with lock:
            going -= 1
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr("conformance.compliance.subprocess.run", fake_run)
    python = [c for c in KNOWN_CLIENTS if c.harness is None and c.vendored is None][:2]
    heard: list[str] = []
    with pytest.raises(click.ClickException, match="without a report"):
        run_clients(tmp_path, python, jobs=jobs, progress=heard.append)
    assert most == jobs
    assert sorted(line.split(":")[0] for line in heard) == sorted(c.name for c in python)
