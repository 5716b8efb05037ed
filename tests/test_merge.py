"""`b24-conformance merge`: the report folders of separate runs make one compliance page, with
the publication's own rendering and without running anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.compliance import RECORDS_DIR, load_records
from conformance.known_clients import KNOWN_CLIENTS
from conformance.publication import MERGED_BY, compliance_document
from tests.fixtures.common import ROOT, cli


def _report(name: str, outcome: str = "passed", baseline: str | None = None) -> dict[str, Any]:
    return {
        "suite": {"version": "9.9.9"},
        "client": {"name": name, "spec": f"{name}:factory", "version": "2.0", "capabilities": []},
        "mode": "stub+portal",
        "profile": "wire",
        "seed": None,
        "started": "2026-03-04T05:06:07+00:00",
        "baseline": baseline,
        "cases": [
            {
                "id": "get.success",
                "mode": "stub",
                "level": "must",
                "outcome": "passed",
                "message": "",
            },
            {
                "id": "get.not-found",
                "mode": "portal",
                "level": "must",
                "outcome": outcome,
                "message": "lost the code\nmore",
            },
        ],
        "summary": {"passed": 1, "failed": 0, "xfailed": 0, "skipped": 0, "errored": 0},
    }


def _folder(root: Path, folder: str, report: dict[str, Any], **files: str) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    for name, text in files.items():
        (path / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return path


def _merge(*arguments: str) -> Any:
    return cli(["merge", *arguments])


def _without_provenance(document: dict[str, Any]) -> dict[str, Any]:
    """What only `compliance` knows (who made the page, the findings pages of KNOWN_CLIENTS)."""
    document = {**document, "generated_by": None}
    document["clients"] = [{**c, "findings": None} for c in document["clients"]]
    return document


def test_merging_the_kept_records_gives_the_published_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From the checkout, as a merge job does: the reports name their baselines from the root.
    monkeypatch.chdir(ROOT)
    folders = [str(ROOT / RECORDS_DIR / client.name) for client in KNOWN_CLIENTS]
    result = _merge(*folders, "--out", str(tmp_path / "page"))
    assert result.exit_code == 0, result.output
    merged = json.loads((tmp_path / "page" / "compliance.json").read_text(encoding="utf-8"))
    assert merged["generated_by"] == MERGED_BY
    published = compliance_document(load_records(ROOT))
    assert _without_provenance(merged) == _without_provenance(published)
    for client in KNOWN_CLIENTS:
        assert (tmp_path / "page" / "badges" / f"{client.name}.json").is_file()


def test_the_page_links_records_that_merge_again_to_the_same_page(tmp_path: Path) -> None:
    baseline = 'client: broken\nexpected_failures:\n  - case: get.not-found\n    reason: "loses the code"\n'
    run = {
        "name": "broken-one",
        "command": "b24-conformance run --client broken:factory",
        "exit_code": 0,
    }
    first = [
        _folder(tmp_path, "a", _report("good")),
        _folder(
            tmp_path,
            "b",
            _report("broken", "xfailed", "ci/baseline.yaml"),
            baseline_yaml=baseline,
            run_json=json.dumps(run),
        ),
    ]
    assert _merge(*map(str, first), "--out", str(tmp_path / "one")).exit_code == 0
    kept = tmp_path / "one" / "compliance"
    assert sorted(p.name for p in kept.iterdir()) == ["broken-one", "good"]
    assert (kept / "broken-one" / "baseline.yaml").read_text(encoding="utf-8") == baseline
    again = _merge(str(kept / "good"), str(kept / "broken-one"), "--out", str(tmp_path / "two"))
    assert again.exit_code == 0, again.output
    for path in (tmp_path / "one").rglob("*"):
        if path.is_file():
            twin = tmp_path / "two" / path.relative_to(tmp_path / "one")
            assert twin.read_bytes() == path.read_bytes(), f"{path.relative_to(tmp_path)} differs"
    page = (tmp_path / "one" / "compliance.md").read_text(encoding="utf-8")
    assert "Merged by `b24-conformance merge` on 2026-03-04" in page
    assert "- loses the code. Cases: `get.not-found`" in page
    assert "`broken-one`: `b24-conformance run --client broken:factory` (exit 0)" in page


def test_a_bare_report_folder_says_what_it_does_not_record(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "bare", _report("plain", "failed"))
    result = _merge(str(folder), "--out", str(tmp_path / "page"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "page" / "compliance.md").read_text(encoding="utf-8")
    assert "- `plain`: command not recorded (exit code not recorded)" in page
    assert "- not in the baseline: lost the code. Cases: `get.not-found`" in page


def test_a_recorded_failing_run_exits_1_after_writing_the_page(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "r", _report("red", "failed"), run_json='{"exit_code": 1}')
    result = _merge(str(folder), "--out", str(tmp_path / "page"))
    assert result.exit_code == 1
    assert "red: the run exited 1" in result.stderr
    assert (tmp_path / "page" / "compliance.md").is_file()


BAD_FOLDERS = [
    (
        "no report",
        {},
        "holds no report.json; pass the folders `b24-conformance run --report` wrote",
    ),
    ("not JSON", {"report_json": "{"}, "report.json: not JSON"),
    (
        "not a report",
        {"report_json": '{"cases": []}'},
        "report.json: not a report.json ('suite' is a required property at the top level)",
    ),
    ("run.json not an object", {"run_json": "[]"}, "run.json: expected a JSON object, got list"),
    (
        "name unfit for a file",
        {"run_json": '{"name": "../x"}'},
        "client name '../x' cannot name a badge file",
    ),
    (
        "broken baseline copy",
        {"baseline_yaml": "expected_failures: [1]"},
        "baseline.yaml: not a baseline this suite reads",
    ),
]


@pytest.mark.parametrize(("label", "files", "said"), BAD_FOLDERS, ids=[b[0] for b in BAD_FOLDERS])
def test_a_folder_that_cannot_be_merged_is_a_one_line_usage_error(
    tmp_path: Path, label: str, files: dict[str, str], said: str
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    if label != "no report":
        (folder / "report.json").write_text(json.dumps(_report("x")), encoding="utf-8")
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    result = _merge(str(folder), "--out", str(tmp_path / "page"))
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "page").exists(), "nothing is written when a folder is refused"


def test_two_folders_of_one_client_are_refused(tmp_path: Path) -> None:
    one = _folder(tmp_path, "one", _report("same"))
    two = _folder(tmp_path, "two", _report("same"))
    result = _merge(str(one), str(two), "--out", str(tmp_path / "page"))
    assert result.exit_code == 2
    assert f"{one} and {two} both hold client 'same'" in result.stderr


def test_a_baseline_that_cannot_be_found_is_refused_not_read_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = _folder(tmp_path, "f", _report("x", "xfailed", "conformance/baseline.yaml"))
    result = _merge(str(folder), "--out", "page")
    assert result.exit_code == 2
    assert "the run applied baseline 'conformance/baseline.yaml', which is neither" in result.stderr
