"""The same catalogue over stub, replay and portal: the same outcome per case, and the run
options that portal mode brings (harness clients, TLS, properties, stateful cases)."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import Result

from conformance import case as case_module
from conformance import reference
from conformance.case import MODES, all_cases, case_by_id
from conformance.config import RUN_OPTIONS
from conformance.engine import run_case
from conformance.modes import CATALOGUE_MODES, MODE_NAMES, make_transport
from conformance.modes import MODES as REGISTRY
from conformance.testing import MINIATURES
from tests.fixtures.common import ROOT, cli, run_in_mode

EVERYWHERE = [case for case in all_cases() if set(MODES) <= set(case.modes)]
HARNESS = f"cmd:{sys.executable} {ROOT / 'harnesses' / 'python-minimal' / 'harness.py'}"


def _verdicts(name: str, mode: str) -> dict[str, tuple[str, frozenset[str]]]:
    factory = reference.factory if name == "reference" else MINIATURES[name]
    verdicts = {}
    for case in EVERYWHERE:
        result = run_in_mode(case, factory, mode, deadline=3.0)
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
    return cli(["run", *args], catch_exceptions=False)


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
    result = cli(["portal", "--help"])
    assert result.exit_code == 0
    assert "--tls" in result.output


def test_the_case_format_and_the_case_loader_know_the_registry_s_modes() -> None:
    case_schema = json.loads((ROOT / "schemas" / "case.json").read_text(encoding="utf-8"))
    enum = case_schema["$defs"]["case"]["properties"]["modes"]["items"]["enum"]
    assert tuple(enum) == CATALOGUE_MODES
    assert case_module.MODES == CATALOGUE_MODES


def test_the_baseline_format_knows_every_mode() -> None:
    baseline_schema = json.loads((ROOT / "schemas" / "baseline.json").read_text(encoding="utf-8"))
    found = [
        node["items"]["enum"]
        for node in _walk(baseline_schema)
        if isinstance(node, dict) and node.get("description", "").startswith("modes where")
    ]
    assert found == [list(MODE_NAMES)]


def test_run_offers_exactly_the_registry_s_modes() -> None:
    (mode_option,) = [option for option in RUN_OPTIONS if option.dest == "mode"]
    assert mode_option.choices == MODE_NAMES
    result = cli(["run", "--mode", "carrier-pigeon"])
    assert result.exit_code == 2
    assert all(name in result.output for name in MODE_NAMES)


def test_a_mode_registered_at_run_time_serves_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    echo = dataclasses.replace(REGISTRY["stub"], name="echo", default=False)
    monkeypatch.setitem(REGISTRY, "echo", echo)
    case = dataclasses.replace(case_by_id("get.success"), modes=("echo",))
    result = run_case(case, reference.factory, "echo", make_transport("echo"))
    assert result.outcome == "passed", result.message


def _walk(node: object) -> list[object]:
    nodes = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        nodes += _walk(child)
    return nodes
