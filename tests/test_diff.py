"""`b24-conformance diff OLD NEW`: regressions, fixes, appeared and disappeared items per level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.diff import Result, compare_results
from tests.fixtures.common import ROOT, cli


def _case(cid: str, outcome: str, checks: tuple[str, ...] = (), level: str = "must") -> Any:
    return {
        "id": cid,
        "mode": "stub",
        "level": level,
        "outcome": outcome,
        "message": "",
        "checks": list(checks),
    }


def _report(*cases: dict[str, Any], version: str = "1.0") -> dict[str, Any]:
    return {
        "suite": {"version": "0.1.0"},
        "client": {"name": "my-client", "version": version},
        "mode": "stub",
        "profile": "wire",
        "seed": None,
        "cases": list(cases),
        "summary": {"passed": 0, "failed": 0, "xfailed": 0, "skipped": 0, "errored": 0},
    }


def _compliance(results: dict[str, str]) -> dict[str, Any]:
    return {
        "generated_by": "b24-conformance compliance",
        "clients": [{"name": "my-client", "version": "2.0"}],
        "cases": [
            {"id": cid, "level": "should", "results": {"my-client": verdict}}
            for cid, verdict in results.items()
        ],
    }


def _diff(tmp_path: Path, old: Any, new: Any, *options: str) -> Any:
    paths = []
    for name, document in (("old.json", old), ("new.json", new)):
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        paths.append(str(path))
    return cli(["diff", *paths, *options], catch_exceptions=False)


# (old outcome and checks, new outcome and checks, the change, its checks)
TRANSITIONS = [
    (("passed", ()), ("failed", ("outcome.code",)), "regressed", ["outcome.code"]),
    (("passed", ()), ("errored", ()), "regressed", []),
    (("skipped", ()), ("failed", ("outcome.kind",)), "regressed", ["outcome.kind"]),
    (("failed", ("a",)), ("xfailed", ("a", "b")), "regressed", ["b"]),
    (("failed", ("outcome.code",)), ("passed", ()), "fixed", ["outcome.code"]),
    (("xfailed", ("a",)), ("passed", ()), "fixed", ["a"]),
    (("failed", ("a",)), ("xfailed", ("a",)), None, None),
    (("passed", ()), ("passed", ()), None, None),
    (("failed", ("a", "b")), ("failed", ("a",)), None, None),
]


@pytest.mark.parametrize(("old", "new", "change", "checks"), TRANSITIONS)
def test_a_transition_of_one_case(
    old: tuple[str, tuple[str, ...]],
    new: tuple[str, tuple[str, ...]],
    change: str | None,
    checks: list[str] | None,
) -> None:
    before = {"stub-get.not-found": Result("must", old[0], frozenset(old[1]))}
    after = {"stub-get.not-found": Result("must", new[0], frozenset(new[1]))}
    differences = compare_results(before, after)
    assert [(d.change, list(d.checks)) for d in differences] == (
        [] if change is None else [(change, checks)]
    )


def test_diff_on_a_regression_exits_1_and_names_the_case_and_check(tmp_path: Path) -> None:
    old = _report(_case("get.not-found", "passed"), version="1.0")
    new = _report(_case("get.not-found", "failed", ("outcome.code",)), version="1.1")
    result = _diff(tmp_path, old, new)
    assert result.exit_code == 1, result.output
    assert "1 regressed, 0 fixed, 0 appeared, 0 disappeared" in result.output
    assert "must regressed   stub-get.not-found (must): passed -> failed [outcome.code]" in (
        result.output
    )
    assert "(my-client 1.0)" in result.output
    assert "(my-client 1.1)" in result.output


def test_diff_on_a_fix_exits_0(tmp_path: Path) -> None:
    old = _report(_case("get.not-found", "failed", ("outcome.code",)))
    new = _report(_case("get.not-found", "passed"))
    result = _diff(tmp_path, old, new, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["counts"]["must"] == {
        "regressed": 0,
        "fixed": 1,
        "appeared": 0,
        "disappeared": 0,
    }
    assert document["differences"][0]["checks"] == ["outcome.code"]


def test_diff_on_no_change_exits_0_and_lists_nothing(tmp_path: Path) -> None:
    same = _report(_case("get.not-found", "passed"), _case("get.success", "xfailed", ("x",)))
    result = _diff(tmp_path, same, same)
    assert result.exit_code == 0, result.output
    assert "0 regressed, 0 fixed, 0 appeared, 0 disappeared" in result.output
    assert len(result.output.splitlines()) == 3


def test_appeared_and_disappeared_cases_are_listed_per_level(tmp_path: Path) -> None:
    old = _report(_case("get.gone", "passed", level="may"))
    new = _report(_case("get.new", "failed", ("a",), level="should"))
    result = _diff(tmp_path, old, new, "--format", "json")
    assert result.exit_code == 0, "an appeared failure is not a regression of what was there"
    counts = json.loads(result.output)["counts"]
    assert counts["should"]["appeared"] == 1
    assert counts["may"]["disappeared"] == 1


def test_diff_of_two_compliance_outputs(tmp_path: Path) -> None:
    old = _compliance({"get.success": "pass", "get.not-found": "fail", "list.empty": "pass"})
    new = _compliance({"get.success": "fail", "get.not-found": "pass", "list.empty": "pass"})
    result = _diff(tmp_path, old, new, "--format", "markdown")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("## b24-conformance diff: regressed\n")
    assert "| should | 1 | 1 | 0 | 0 |" in result.output
    assert "- `my-client: get.success` (should): pass → fail" in result.output
    assert "### Fixed (1)" in result.output


def test_diff_of_the_kept_records_shows_what_a_real_client_breaks(tmp_path: Path) -> None:
    records = ROOT / "docs" / "compliance"
    old, new = records / "reference" / "report.json", records / "b24pysdk" / "report.json"
    result = cli(["diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 1
    regressed = [d for d in json.loads(result.output)["differences"] if d["change"] == "regressed"]
    assert "portal-retry.overload-limit-not-retried" in {d["item"] for d in regressed}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{not json", _report(), "not JSON"),
        ({"cases": "nope"}, _report(), "neither a report.json"),
        (_report(_case("x", "maybe")), _report(), "breaks schemas/report.json"),
        (_report(), _compliance({}), "is a report and"),
    ],
)
def test_an_unreadable_input_exits_2_in_one_line(
    tmp_path: Path, old: Any, new: Any, message: str
) -> None:
    result = _diff(tmp_path, old, new)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = cli(["diff", str(tmp_path / "a.json"), str(tmp_path / "b")])
    assert result.exit_code == 2
    assert "cannot read it" in result.stderr
