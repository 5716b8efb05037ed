"""False-alarm guards: every correct-but-different client (conformance.allowed) has zero must
failures in every mode that reaches it, over the whole catalogue.

The broken miniatures keep failing, each on its check (tests/test_miniatures.py); these are the
other half of an honest verdict.
"""

from __future__ import annotations

import functools

import pytest

from conformance.allowed import ALLOWED, FixedTimeout
from conformance.api import AdapterFactory
from conformance.case import MODES, all_cases, case_by_id
from conformance.results import CaseResult, fails_run
from tests.fixtures.common import run_in_mode

#: fixed-timeout keeps its real 20 s in `run`; here it is scaled down (4 s own timeout against
#: the offline 2 s Target.timeout and the 30 s stall deadline) so the test takes seconds.
FACTORIES: dict[str, AdapterFactory] = {
    **ALLOWED,
    "fixed-timeout": functools.partial(FixedTimeout, own_timeout=4.0),
}

#: Where each client differs, the case and mode that show it and the level it counts at.
#: (The stub answers a scripted stall at once to a client with a timeout: only the portal
#: really stalls.)
# fmt: off
SHORTFALLS = [
    ("never-retries", "retry.query-limit-then-success", "stub", "should"),
    ("never-retries", "retry.operating-limit-waits-for-reset", "stub", "should"),
    ("fixed-timeout", "transport.timeout", "portal", "should"),
    ("calls-every-non-envelope-non-json", "transport.empty-body-200", "stub", "should"),
    ("calls-every-non-envelope-non-json", "transport.not-an-envelope", "replay", "may"),
    ("hands-operating-limit-back", "retry.operating-limit-waits-for-reset", "portal", "should"),
    ("checks-dropped-add", "transport.reset-after-add", "stub", "should"),
    ("checks-dropped-add", "transport.reset-after-add", "portal", "should"),
]
# fmt: on


def _summary(result: CaseResult) -> str:
    return f"{result.case_id} ({result.mode}) {result.outcome} at {result.level}: {result.message}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_correct_but_different_client_has_no_must_failure(name: str, mode: str) -> None:
    must = [
        _summary(result)
        for case in all_cases()
        if mode in case.modes
        for result in [run_in_mode(case, FACTORIES[name], mode)]
        if fails_run(result)
    ]
    assert not must, f"{name} in {mode} mode: false alarms\n" + "\n".join(must)


@pytest.mark.parametrize(("name", "case_id", "mode", "level"), SHORTFALLS)
def test_the_difference_is_reported_at_its_level(
    name: str, case_id: str, mode: str, level: str
) -> None:
    result = run_in_mode(case_by_id(case_id), FACTORIES[name], mode)
    assert result.outcome == "failed", _summary(result)
    assert result.level == level, _summary(result)
    assert "shortfall" in result.message, _summary(result)


def test_every_correct_but_different_client_is_guarded() -> None:
    assert set(FACTORIES) == set(ALLOWED)
