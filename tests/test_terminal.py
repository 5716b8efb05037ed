"""A terminal a person reads: progress, then the suite's summary last; failures by check;
no pytest short summary or internals; -q one line, -v a line per case; usage errors name the
option as typed, under `run` and under plain pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.common import cli

FAILING = ("--client", "miniature:loses-error-code", "--mode", "stub")
CASES = ("--case", "get.not-found", "--case", "add.duplicate-code", "--case", "get.success")
PYTEST_INTERNALS = (
    "short test summary info",
    "_pytest.",
    "Exit:",
    "test_conformance.py",
    "no tests ran",
)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _no_internals(text: str) -> None:
    for internal in PYTEST_INTERNALS:
        assert internal not in text, f"expected no {internal!r} in:\n{text}"


def test_a_failing_run_ends_with_checks_details_and_the_verdict() -> None:
    result = cli(["run", *FAILING, *CASES])
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    _no_internals(result.output)
    assert lines[-1] == (
        "NOT CONFORMANT: 1 must case run(s) failed or errored, 1 should/may shortfall(s)"
    ), lines
    assert lines[-2].startswith("details: --report DIR writes report.md, report.html"), lines
    check_line = next(line for line in lines if line.lstrip().startswith("outcome.code"))
    assert check_line.split()[1] == "2", check_line
    assert {"get.not-found", "add.duplicate-code"} <= set(check_line.replace(",", "").split())


def test_a_run_with_reports_says_where_they_are(tmp_path: Path) -> None:
    result = cli(["run", "--case", "get.success", "--mode", "stub", "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines[-2] == f"details: {tmp_path / 'report.md'} (the case x mode matrix: report.html)"
    assert lines[-1].startswith("CONFORMANT: ")


def test_quiet_is_one_line() -> None:
    result = cli(["run", *FAILING, *CASES, "-q"])
    assert result.exit_code == 1
    (line,) = _lines(result.output)
    assert line.startswith("loses-error-code: NOT CONFORMANT: 1 must case run(s)"), line
    assert "failed checks: outcome.code 2" in line


def test_verbose_shows_a_line_per_case_and_the_counts_per_level() -> None:
    result = cli(["run", *FAILING, *CASES, "-v"])
    assert result.exit_code == 1
    _no_internals(result.output)
    lines = _lines(result.output)
    assert "PASSED   stub-get.success" in lines
    assert (
        "FAILED   stub-get.not-found: [outcome.code] the error code is not the one the portal sent"
        in lines
    )
    assert any(line.startswith("level ") for line in lines)
    assert lines[-1].startswith("NOT CONFORMANT")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--b24-client", "nonsense"), "usage error: --b24-client 'nonsense' is not a client spec"),
        (("--b24-case", "get.nope"), "usage error: --b24-case 'get.nope' names no case"),
        (
            ("--b24-client", "no_such_module_xyz:f"),
            "usage error: --b24-client 'no_such_module_xyz:f'",
        ),
    ],
)
def test_plain_pytest_says_a_usage_error_in_one_line_naming_the_b24_option(
    pytester: pytest.Pytester, arguments: tuple[str, ...], message: str
) -> None:
    result = pytester.runpytest_subprocess("--pyargs", "conformance", *arguments)
    assert result.ret == 2
    errors = _lines(result.stderr.str())
    assert len(errors) == 1, errors
    assert errors[0].startswith(message), errors
    _no_internals(result.stdout.str() + result.stderr.str())


def test_plain_pytest_leaves_out_its_short_summary(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "conformance",
        "--b24-client",
        "miniature:loses-error-code",
        "--b24-mode",
        "stub",
        "--b24-case",
        "get.not-found",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 1
    output = result.stdout.str()
    assert "short test summary info" not in output
    assert "NOT CONFORMANT: 1 must case run(s)" in output
    assert "details: --b24-report DIR" in output
