"""Engine details that no miniature pins down: what the request-side checks tolerate."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from conformance.baseline import load_baseline
from conformance.case import case_by_id
from conformance.checks.behaviour import backs_off
from conformance.findings import ERRORED, findings
from conformance.reference import ReferenceClient
from conformance.session import RunConfig, RunSession
from conformance.testing import MINIATURES
from tests.fixtures.common import run_in_mode


class _AddsBookkeeping(ReferenceClient):
    """Adds an SDK's own query parameters, as b24jssdk does (bx24_request_id ...)."""

    def _endpoint(self, method: str) -> tuple[str, dict[str, str]]:
        url, headers = super()._endpoint(method)
        return f"{url}?bx24_request_id=abc&bx24_sdk_ver=2.2.0", headers


class _UppercasesParamNames(ReferenceClient):
    """Sends CODE for code: the binder reads names exactly, so code is missing."""

    def call(self, method: str, params: Mapping[str, Any]) -> Any:
        return super().call(method, {name.upper(): value for name, value in params.items()})


@pytest.mark.parametrize("mode", ["stub", "replay", "portal"])
def test_extra_parameters_the_method_does_not_read_are_tolerated(mode: str) -> None:
    result = run_in_mode(case_by_id("get.success"), _AddsBookkeeping, mode)
    assert result.outcome == "passed", result.message


@pytest.mark.parametrize("mode", ["stub", "replay", "portal"])
def test_a_parameter_under_the_wrong_name_is_not_tolerated(mode: str) -> None:
    result = run_in_mode(case_by_id("get.success"), _UppercasesParamNames, mode)
    assert result.outcome == "failed"
    assert {f.check for f in result.failures} == {"requests.params"}


@pytest.mark.parametrize(
    ("gaps", "expected"),
    [
        ([0.5, 1.0, 2.007, 2.002], True),  # capped, with timer jitter: not shrinking
        ([0.2, 0.4], True),
        ([0.063, 0.098], True),  # short waits that grow by half: backoff (fast-bitrix24, shrunk)
        ([0.1, 0.105, 0.11], False),  # a fixed wait with timer jitter
        ([0.3], True),  # one wait: nothing to compare
        ([1.0, 1.0, 1.0], False),  # a fixed wait is no backoff
        ([0.4, 0.8, 0.2], False),  # shrinks by far more than jitter
        ([2.007, 2.002], False),  # starts at its cap: never grew
    ],
)
def test_growing_gaps_allow_a_cap_and_jitter(gaps: list[float], expected: bool) -> None:
    assert backs_off(gaps) is expected


def test_a_call_that_crashed_takes_no_alternative_and_is_grouped_as_errored() -> None:
    # The case accepts "handed the 429 to its caller" at should; a client that crashed on its
    # wait handed nothing on, so no shortfall may say it did.
    result = run_in_mode(
        case_by_id("retry.operating-limit-reset-passed"), MINIATURES["sleeps-negative-wait"], "stub"
    )
    assert result.outcome == "errored", result.message
    assert "ValueError" in result.message
    taken = [f for f in result.failures if f.title.startswith("an acceptable alternative")]
    assert taken == [], result.message
    entry = {"outcome": "errored", "checks": sorted({f.check for f in result.failures})}
    found = findings({"cases": [{**entry, "id": result.case_id, "mode": "stub", "message": ""}]})
    assert found[0].check == ERRORED


SECRET, TOKEN = "s3cr3t-canary-0123", "t0ken-canary-0123"


@pytest.mark.parametrize("mode", ["stub", "replay"])
def test_a_passed_case_makes_its_reproduction_when_asked_and_a_failed_one_at_once(
    mode: str,
) -> None:
    case = case_by_id("get.not-found")
    passed = run_in_mode(case, ReferenceClient, mode, canaries=(SECRET, TOKEN))
    failed = run_in_mode(case, MINIATURES["loses-error-code"], mode, canaries=(SECRET, TOKEN))
    assert (passed.outcome, failed.outcome) == ("passed", "failed")
    assert passed.reproduction == ""
    assert passed.pending_reproduction is not None
    assert "curl -X POST" in failed.reproduction
    assert failed.pending_reproduction is None
    made = passed.render_reproduction()
    # The same text the failed one shows: what was sent to the same case, redacted.
    assert made == passed.reproduction == failed.reproduction
    assert SECRET not in made
    assert TOKEN not in made


@pytest.mark.parametrize(
    ("client", "outcome"), [("miniature:loses-error-code", "xfailed"), ("reference", "failed")]
)
def test_a_case_the_baseline_judges_carries_its_reproduction_to_the_report(
    client: str, outcome: str, tmp_path: Path
) -> None:
    """An expected failure, and a passed case whose entry is stale, are shown with their
    reproduction: the session renders it once the baseline has judged, before the result
    travels as plain data (a worker's export)."""
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "expected_failures:\n  - case: get.not-found\n    reason: loses the Bitrix error code\n",
        encoding="utf-8",
    )
    config = RunConfig(
        client=client,
        modes=("stub",),
        case_ids=("get.not-found",),
        baseline=load_baseline(baseline),
        properties=False,
    )
    session = RunSession(config)
    session.prepare()
    try:
        result = session.run("get.not-found", "stub")
    finally:
        session.close()
    assert result.outcome == outcome, result.message
    (data,) = session.export()["results"]
    assert "curl -X POST" in data["reproduction"]
    assert data["pending_reproduction"] is None


_SERVED_TIME = {"start": 1.5, "finish": 2.5, "duration": 1.0, "processing": 0, "extra": [1, 2]}


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        (dict(_SERVED_TIME), True),
        ({**_SERVED_TIME, "extra": (1, 2)}, True),  # compared as parsed JSON
        ({k: v for k, v in _SERVED_TIME.items() if k != "extra"}, True),  # undocumented: dropped
        ({k: v for k, v in _SERVED_TIME.items() if k != "duration"}, False),  # documented
        ({**_SERVED_TIME, "start": 1.25}, False),
        ({**_SERVED_TIME, "extra": [2, 1]}, False),  # undocumented, kept: kept unchanged
        ({**_SERVED_TIME, "invented": 0}, False),
        (None, False),
    ],
    ids=["same", "tuple", "undocumented-dropped", "documented-dropped", "changed",
         "undocumented-changed", "invented", "none"],
)  # fmt: skip
def test_a_time_block_is_kept_by_its_documented_keys_unchanged(
    reported: Mapping[str, Any] | None, kept: bool
) -> None:
    """outcome.payload's time clause (an adapter with capability 'time'), CONTRACT.md 4.1."""
    from conformance.checks.outcome import _time_kept

    assert _time_kept(_SERVED_TIME, reported) is kept
