"""The same catalogue over stub, replay and portal: the same outcome per case, and the run
options that portal mode brings (harness clients, TLS, properties, stateful cases)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conformance import reference
from conformance.case import MODES, all_cases
from conformance.cli import main
from conformance.engine import run_case
from conformance.testing import MINIATURES

ROOT = Path(__file__).resolve().parent.parent
EVERYWHERE = [case for case in all_cases() if set(MODES) <= set(case.modes)]
HARNESS = f"cmd:{sys.executable} {ROOT / 'harnesses' / 'python-minimal' / 'harness.py'}"


def _verdicts(name: str, mode: str) -> dict[str, tuple[str, frozenset[str]]]:
    factory = reference.factory if name == "reference" else MINIATURES[name]
    verdicts = {}
    for case in EVERYWHERE:
        result = run_case(case, factory, mode, deadline=3.0)
        verdicts[case.id] = (result.outcome, frozenset(f.check for f in result.failures))
    return verdicts


@pytest.mark.parametrize(
    "name", ["reference", "loses-error-code", "falsy-error-is-success", "title-only-as-string"]
)
def test_every_mode_gives_the_same_outcome_per_case(name: str) -> None:
    by_mode = {mode: _verdicts(name, mode) for mode in MODES}
    assert len(EVERYWHERE) > 80
    for mode in ("replay", "portal"):
        differing = {
            case_id: (by_mode["stub"][case_id], verdict)
            for case_id, verdict in by_mode[mode].items()
            if verdict != by_mode["stub"][case_id]
        }
        assert differing == {}, f"{name}: stub and {mode} disagree"
    if name != "reference":
        assert any(outcome != "passed" for outcome, _ in by_mode["portal"].values())


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def _report(directory: Path) -> dict[str, object]:
    return json.loads((directory / "report.json").read_text())  # type: ignore[no-any-return]


def test_a_harness_client_runs_over_the_portal_with_protocol_validation(tmp_path: Path) -> None:
    result = _run(
        "--client", HARNESS, "--mode", "portal", "--validate-protocol", "--no-properties",
        "--case", "get.not-found", "--case", "state.duplicate-code", "--case", "transport.html-502",
        "--report", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = _report(tmp_path)
    assert report["client"]["name"] == "python-minimal"  # type: ignore[index]
    assert report["summary"]["passed"] == 3  # type: ignore[index]


def test_a_harness_client_in_stub_mode_fails_rather_than_passes() -> None:
    result = _run("--client", HARNESS, "--mode", "stub", "--no-properties", "--case", "get.success")
    assert result.exit_code == 1, "stub mode cannot reach another process: the case must not pass"


def test_portal_mode_serves_tls(tmp_path: Path) -> None:
    result = _run(
        "--mode",
        "portal",
        "--tls",
        "--no-properties",
        "--case",
        "get.success",
        "--report",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert _report(tmp_path)["summary"]["passed"] == 1  # type: ignore[index]


def test_stateful_cases_skip_with_the_reason_outside_portal_mode(tmp_path: Path) -> None:
    result = _run("--mode", "stub", "--case", "state.delete-twice", "--report", str(tmp_path))
    assert result.exit_code == 0
    (entry,) = _report(tmp_path)["cases"]  # type: ignore[misc]
    assert entry["outcome"] == "skipped"
    assert entry["message"] == "stub mode cannot express this case (it runs in portal)"


def test_a_property_runs_by_id_with_its_seed(tmp_path: Path) -> None:
    result = _run(
        "--client", "miniature:loses-error-code", "--mode", "stub", "--case", "property.error-mapping",
        "--seed", "11", "--report", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1
    (entry,) = _report(tmp_path)["cases"]  # type: ignore[misc]
    assert entry["id"] == "property.error-mapping"
    assert entry["outcome"] == "failed"
    assert "minimal example" in entry["message"]
    assert "--seed 11" in entry["rerun"]


@pytest.mark.parametrize("profile", ["dev", "ci"])
def test_a_failing_property_reruns_with_the_seed_it_drew(tmp_path: Path, profile: str) -> None:
    result = _run(
        "--client", "miniature:loses-error-code", "--mode", "stub", "--case", "property.error-mapping",
        "--hypothesis-profile", profile, "--report", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1
    (entry,) = _report(tmp_path)["cases"]  # type: ignore[misc]
    drawn = re.search(r"--seed (\d+)", entry["reproduction"])
    assert drawn, entry["reproduction"]
    assert f"--seed {drawn.group(1)}" in entry["rerun"], "the report reruns what the run drew"
    assert f"seed {drawn.group(1)}, hypothesis profile {profile}" in entry["message"]
    # A non-default profile changes how many examples run: the rerun names it too.
    assert ("--hypothesis-profile dev" in entry["rerun"]) == (profile == "dev")


def test_the_portal_command_is_registered() -> None:
    result = CliRunner().invoke(main, ["portal", "--help"])
    assert result.exit_code == 0
    assert "--tls" in result.output
