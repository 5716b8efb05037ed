"""`b24-conformance run`: exit codes, reports, baselines, client specs, and the pytest entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from conformance import schemas
from conformance.properties import NOT_SHRUNK_EXPECTED
from tests.fixtures.common import cli

ONE_CASE = ["--case", "get.not-found"]


def _run(*args: str) -> Result:
    return cli(["run", *args], catch_exceptions=False)


def _report(directory: Path) -> dict[str, object]:
    document = json.loads((directory / "report.json").read_text())
    # The registry's validator: report.json refers to evidence.json.
    schemas.validator(schemas.uri("report.json")).validate(document)
    return document


def test_reference_client_is_conformant_and_reports(tmp_path: Path) -> None:
    result = _run("--report", str(tmp_path), *ONE_CASE, "--case", "get.success")
    assert result.exit_code == 0, result.output
    document = _report(tmp_path)
    assert document["client"]["name"] == "reference"  # type: ignore[index]
    assert document["mode"] == "stub+replay+portal"
    assert document["summary"] == {
        "passed": 6,
        "failed": 0,
        "xfailed": 0,
        "skipped": 0,
        "errored": 0,
    }
    assert {(c["id"], c["mode"]) for c in document["cases"]} == {  # type: ignore[union-attr]
        (case, mode)
        for case in ("get.not-found", "get.success")
        for mode in ("stub", "replay", "portal")
    }
    assert (tmp_path / "junit.xml").read_text().count("<testcase") == 6
    assert "| **all** | 6 | 0 | 0 | 0 | 0 |" in (tmp_path / "report.md").read_text()


def test_a_broken_client_exits_1_with_the_failing_case_in_the_report(tmp_path: Path) -> None:
    result = _run(
        "--client", "tests.fixtures.adapters:without_status", "--report", str(tmp_path), *ONE_CASE
    )
    assert result.exit_code == 0, "a client without the status capability is not judged on status"
    result = _run("--client", "miniature:loses-error-code", "--report", str(tmp_path), *ONE_CASE)
    assert result.exit_code == 1, result.output
    failed = [c for c in _report(tmp_path)["cases"] if c["outcome"] == "failed"]  # type: ignore[union-attr]
    assert {c["id"] for c in failed} == {"get.not-found"}
    entry = failed[0]
    assert "outcome.code" in entry["checks"]
    assert "b24-conformance run --client miniature:loses-error-code --mode" in entry["rerun"]
    assert "curl -X POST" in entry["reproduction"]
    markdown = (tmp_path / "report.md").read_text()
    assert "## outcome.code: 1 case(s)" in markdown
    assert "### Example: get.not-found (stub, must, failed)" in markdown
    assert "[outcome.code] the error code is not the one the portal sent" in markdown


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nonsense", "--client 'nonsense' is not a client spec: expected 'reference'"),
        ("no_such_module_xyz:factory", "cannot import module 'no_such_module_xyz'"),
        ("conformance.reference:nope", "has no attribute 'nope'"),
        ("conformance.reference:RETRY_BACKOFF_CODES", "is not callable"),
        ("miniature:no-such-miniature", "no miniature named 'no-such-miniature'"),
    ],
)
def test_a_bad_client_spec_is_a_usage_error(spec: str, message: str) -> None:
    result = _run("--client", spec)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("factory_raises", "the adapter factory raised RuntimeError"),
        ("no_call", "the adapter has no 'call'"),
        ("not_an_outcome", "returned something that is not an Outcome"),
        ("strange_capability", "declares unknown capabilities ['telepathy']"),
        ("factory_exits", "the adapter factory raised SystemExit: 5"),
        ("capabilities_five", "declares capabilities 5, not a set of strings"),
    ],
)
def test_a_broken_adapter_exits_3(factory: str, message: str, tmp_path: Path) -> None:
    result = _run(
        "--client", f"tests.fixtures.adapters:{factory}", *ONE_CASE, "--report", str(tmp_path)
    )
    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    smoke = _report(tmp_path)["smoke"]
    assert smoke["verdict"] == "adapter-broken"  # type: ignore[index]
    assert message in smoke["lines"][0]  # type: ignore[index]


def test_an_adapter_returning_no_outcome_without_sending_is_broken_not_unseen(
    tmp_path: Path,
) -> None:
    # Stub mode sees no request, but the call came back with a dict: not a client the mode
    # cannot intercept (exit 2), an adapter that breaks its contract (exit 3).
    result = _run("--client", "tests.fixtures.adapters:not_an_outcome", "--mode", "stub", *ONE_CASE)
    assert result.exit_code == 3, result.output
    assert "returned something that is not an Outcome (dict" in result.stderr


def test_a_client_crashing_on_the_smoke_success_is_a_client_crash(tmp_path: Path) -> None:
    result = _run(
        "--client",
        "tests.fixtures.adapters:crashes_on_success",
        "--case",
        "get.success",
        "--case",
        "get.not-found",
        "--report",
        str(tmp_path),
    )
    assert result.exit_code == 1, result.output
    assert "the client crashed on the smoke call" in result.stderr
    assert "KeyError: 'time'" in result.stderr
    report = _report(tmp_path)
    outcomes = {(c["id"], c["mode"]): c["outcome"] for c in report["cases"]}  # type: ignore[union-attr]
    assert {o for (case, _), o in outcomes.items() if case == "get.success"} == {"errored"}
    assert {o for (case, _), o in outcomes.items() if case == "get.not-found"} == {"passed"}
    assert report["smoke"]["verdict"] == "client-problem"  # type: ignore[index]


def test_a_mode_that_sees_no_request_is_skipped_with_one_line(tmp_path: Path) -> None:
    result = _run(
        "--client", "tests.fixtures.adapters:on_urllib", *ONE_CASE, "--report", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped:")]
    assert skipped == [
        "skipped: stub mode intercepts only clients on requests: this client made no request "
        "it could see; use --mode replay or --mode portal"
    ]
    outcomes = {c["mode"]: c["outcome"] for c in _report(tmp_path)["cases"]}  # type: ignore[union-attr]
    assert outcomes == {"stub": "skipped", "replay": "passed", "portal": "passed"}


def test_a_baseline_turns_known_failures_into_xfailed(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "client: loses-error-code\n"
        "expected_failures:\n"
        "  - case: get.not-found\n"
        "    reason: loses the Bitrix error code on HTTP 400\n"
    )
    result = _run(
        "--client",
        "miniature:loses-error-code",
        "--baseline",
        str(baseline),
        "--report",
        str(tmp_path),
        *ONE_CASE,
    )
    assert result.exit_code == 0, result.output
    assert _report(tmp_path)["summary"]["xfailed"] == 3  # type: ignore[index]


def test_a_property_the_baseline_expects_to_fail_is_not_shrunk(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "expected_failures:\n"
        "  - case: property.error-mapping\n"
        "    reason: loses the Bitrix error code on HTTP 400\n"
    )
    result = _run(
        "--client",
        "miniature:loses-error-code",
        "--baseline",
        str(baseline),
        "--report",
        str(tmp_path),
        "--mode",
        "stub",
        "--case",
        "property.error-mapping",
    )
    assert result.exit_code == 0, result.output
    [entry] = _report(tmp_path)["cases"]  # type: ignore[misc]
    assert entry["outcome"] == "xfailed", entry
    assert NOT_SHRUNK_EXPECTED in entry["message"]


def test_a_baseline_entry_that_passes_fails_the_run(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "expected_failures:\n  - case: get.not-found\n    reason: thought broken\n    modes: [stub]\n"
    )
    result = _run("--baseline", str(baseline), "--report", str(tmp_path), *ONE_CASE)
    assert result.exit_code == 1
    failed = [c for c in _report(tmp_path)["cases"] if c["outcome"] == "failed"]  # type: ignore[union-attr]
    assert [(c["id"], c["mode"]) for c in failed] == [("get.not-found", "stub")]
    assert "but it passed: remove the entry" in failed[0]["message"]


def test_a_baseline_entry_for_a_missing_case_fails_the_run(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "expected_failures:\n  - case: get.renamed-long-ago\n    reason: obsolete entry\n"
    )
    result = _run("--baseline", str(baseline), "--report", str(tmp_path), *ONE_CASE)
    assert result.exit_code == 1
    assert "lists case get.renamed-long-ago, which no longer exists" in result.output
    assert _report(tmp_path)["baseline_problems"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("expected_failures: [{case: get.success}]", "an entry needs 'reason'"),
        ("[unclosed", "not YAML"),
    ],
)
def test_a_malformed_baseline_is_a_usage_error(tmp_path: Path, content: str, message: str) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(content)
    result = _run("--baseline", str(baseline))
    assert result.exit_code == 2
    assert message in result.stderr


def test_selecting_nothing_is_a_usage_error() -> None:
    assert _run("-k", "no-such-case-anywhere").exit_code == 2
    result = _run("--case", "get.no-such-case")
    assert result.exit_code == 2
    assert "--case 'get.no-such-case' names no case" in result.output


def test_the_suite_runs_under_plain_pytest(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "conformance",
        "--b24-case",
        "get.not-found",
        "--b24-mode",
        "stub",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*b24-conformance*", "stub*1*0*0*0*0"])


def test_plain_pytest_reports_a_broken_adapter_with_exit_3(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs", "conformance", "--b24-client", "conformance.reference:RETRY_BACKOFF_CODES"
    )
    assert result.ret == 2
    # The broken adapters live in this repository's tests package: make it importable there.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    result = pytester.runpytest_subprocess(
        "--pyargs", "conformance", "--b24-client", "tests.fixtures.adapters:no_call"
    )
    assert result.ret == 3
    result.stderr.fnmatch_lines(["*the adapter is broken: the adapter has no 'call'*"])


def test_a_should_shortfall_is_reported_and_fails_only_under_strict(tmp_path: Path) -> None:
    # never-retries hands 503 QUERY_LIMIT_EXCEEDED back at once: safe, but not the better way.
    args = ["--client", "miniature:never-retries", "--mode", "stub", "--no-properties"]
    args += ["--case", "retry.query-limit-then-success", "--case", "get.success"]
    result = _run(*args, "--report", str(tmp_path / "plain"))
    assert result.exit_code == 0, result.output
    report = _report(tmp_path / "plain")
    assert report["levels"]["should"]["failed"] == 1  # type: ignore[index]
    assert report["levels"]["must"] == {  # type: ignore[index]
        "passed": 1,
        "failed": 0,
        "xfailed": 0,
        "skipped": 0,
        "errored": 0,
    }
    entry = next(c for c in report["cases"] if c["outcome"] == "failed")  # type: ignore[union-attr]
    assert entry["level"] == "should"
    assert "handed 503 QUERY_LIMIT_EXCEEDED to its caller at once" in entry["message"]
    markdown = (tmp_path / "plain" / "report.md").read_text()
    assert "**CONFORMANT at level must, with 1 should/may shortfall(s)**" in markdown
    assert '<property name="level" value="should"' in (tmp_path / "plain" / "junit.xml").read_text()
    strict = _run(*args, "--strict", "--report", str(tmp_path / "strict"))
    assert strict.exit_code == 1, strict.output
    assert _report(tmp_path / "strict")["strict"] is True


def test_a_declared_retry_that_never_comes_is_a_must_failure(tmp_path: Path) -> None:
    result = _run(
        "--client", "miniature:declares-retry-never-retries", "--mode", "stub",
        "--no-properties", "--case", "retry.query-limit-then-success", "--report", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    (entry,) = _report(tmp_path)["cases"]  # type: ignore[misc]
    assert entry["level"] == "must"
    assert "declares capability 'retry'" in entry["message"]
    assert "a broken promise" in entry["message"]


@pytest.mark.parametrize("modes", [("stub",), ("stub", "replay")], ids=["stub", "stub+replay"])
def test_a_client_that_raises_before_sending_fails_its_cases_with_exit_1(
    modes: tuple[str, ...], tmp_path: Path
) -> None:
    # It sent nothing, as a client on another HTTP stack would in stub mode; but it raised an
    # exception of its own (no network error on the chain): a crash, exit 1, never exit 2.
    selection = [word for mode in modes for word in ("--mode", mode)]
    result = _run(
        "--client", "miniature:crashes-before-sending", *selection, *ONE_CASE,
        "--report", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "no mode of this run can see the client" not in result.stderr
    assert "the client crashed on the smoke call" in result.stderr
    cases = _report(tmp_path)["cases"]
    assert {c["mode"]: c["outcome"] for c in cases} == dict.fromkeys(modes, "errored")  # type: ignore[union-attr]
    message = cases[0]["message"]  # type: ignore[index]
    assert message.startswith(
        "the client crashed before sending its first request: AttributeError: 'NoneType' object "
        "has no attribute 'post', raised at "
    ), message
    assert "conformance/testing.py:" in message
    assert " in call: session.post(" in message
    assert "; the request never sent: POST https://" in message
    assert "/rest/1/***/crm.activity.badge.get.json" in message
    assert "requests.count" not in message  # it sent nothing because it crashed, not by choice
