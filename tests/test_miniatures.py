"""The suite can fail: each miniature breaks the cases and checks it targets, and only those.

One table row per miniature: the cases where its defect shows (and the check that must catch
it there, or None where the case must error because an exception escapes), and cases where
the defect cannot show, which it must still pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance import reference
from conformance.allowed import ALLOWED
from conformance.case import Case, all_cases, case_by_id
from conformance.checks import CHECKS
from conformance.modes import OFFLINE_MODES
from conformance.results import CaseResult
from conformance.testing import MINIATURES, miniature_doc
from conformance.transports import offline_target
from tests.fixtures.adapters import invents_a_kind
from tests.fixtures.common import run_in_mode
from tests.test_live_checks import LIVE_TABLE

DEADLINE = 3.0


@dataclass(frozen=True)
class Row:
    """A miniature, the cases that catch it (case id -> check id), the cases it still passes."""

    name: str
    caught: dict[str, str | None]
    passes: tuple[str, ...] = ("get.success",)
    gap: str = ""  # why no offline case can catch it yet: the row is a strict xfail
    level: str = "must"  # the level a caught case fails at (a should check: should)


# One row per miniature reads best, however wide.
# fmt: off
TABLE = [
    Row("loses-error-code", {"get.not-found": "outcome.code", "add.duplicate-code": "outcome.code", "delete.entity-with-badge-exists": "outcome.code"}),
    Row("uppercases-error-code", {"auth.expired-token": "outcome.code"}, passes=("get.success", "get.not-found", "add.unknown-language-0")),
    Row("falsy-error-is-success", {"add.unknown-language-0": "outcome.kind", "system.empty-error-code": "outcome.kind", "system.error-zero-200": "outcome.kind", "system.error-empty-200": "outcome.kind"}, passes=("get.success", "get.not-found", "add.error-0-string")),
    Row("trusts-status-200", {"system.error-with-200": "outcome.kind"}, passes=("get.success", "get.not-found", "transport.html-200")),
    Row("crashes-on-non-json", {"transport.html-502": None, "transport.empty-body-200": None}, passes=("get.success", "get.not-found", "transport.not-an-envelope")),
    Row("any-json-is-success", {"transport.not-an-envelope": "outcome.kind", "transport.json-array-body": "outcome.kind", "system.error-false": "outcome.kind", "system.error-null-200": "outcome.kind"}, passes=("get.success", "get.not-found", "transport.html-502")),
    Row("title-only-as-string", {"get.success-language-map": "outcome.payload", "add.success-language-map": "outcome.payload"}, passes=("get.success", "add.success")),
    Row("drops-total", {"list.success-with-total": "outcome.payload", "list.empty": "outcome.payload"}),
    Row("invents-total", {"list.without-total": "outcome.payload"}, passes=("get.success", "list.success-with-total")),
    Row("drops-error-description", {"system.error-description-kept": "outcome.description"}, passes=("get.success", "get.not-found"), level="should"),
    Row("lists-no-badges", {"list.success-with-total": "outcome.payload"}, passes=("get.success", "list.empty")),
    Row("ignores-status", {"get.not-found": "outcome.status", "transport.html-502": "outcome.status"}),
    Row("calls-every-failure-connection", {"transport.html-502": "outcome.failure-kind", "transport.empty-body-200": "outcome.failure-kind"}, passes=("get.success", "transport.connection-reset")),
    Row("retries-every-error", {"get.not-found": "requests.count", "add.access-denied": "requests.count"}, passes=("get.success", "retry.query-limit-then-success")),
    Row("re-adds-after-drop", {"transport.reset-after-add": "requests.unchecked-add"}, passes=("get.success", "add.success", "transport.connection-reset")),
    Row("refreshes-without-bound", {"auth.expired-token-every-refresh": "requests.count"}, passes=("get.success", "auth.oauth-get-success")),
    Row("retries-every-503", {"retry.overload-limit-not-retried": "requests.count", "system.overload-limit-503": "requests.count", "retry.overload-after-reset-stamp-not-retried": "requests.count"}, passes=("get.success", "get.not-found", "retry.query-limit-then-success")),
    Row("loops-503-unbounded", {"retry.query-limit-exhausted": "requests.count", "retry.query-limit-then-success": "behaviour.timing"}, passes=("get.success", "get.not-found")),
    Row("declares-retry-never-retries", {"retry.query-limit-then-success": "requests.count", "retry.query-limit-exhausted": "requests.count"}, passes=("get.success", "retry.operating-limit-waits-for-reset")),
    Row("retries-without-backoff", {"retry.query-limit-then-success": "behaviour.timing"}, passes=("get.success", "retry.overload-limit-not-retried")),
    Row("ignores-operating-reset", {"retry.operating-limit-waits-for-reset": "behaviour.timing"}, passes=("get.success", "retry.query-limit-then-success")),
    Row("sleeps-negative-wait", {"retry.operating-limit-reset-passed": None}, passes=("get.success", "retry.operating-limit-waits-for-reset")),
    Row("waits-for-reset-on-error", {"system.operation-time-limit-429": "behaviour.deadline"}, passes=("get.success", "retry.query-limit-then-success")),
    Row("no-timeout", {"transport.timeout": "behaviour.deadline"}, passes=("get.success", "transport.connection-reset")),
    Row("pastes-params-into-query", {"get.hostile-code": "requests.params"}, passes=("get.success", "add.success", "retry.query-limit-then-success")),
    Row("form-encodes-maps-as-text", {"add.success-language-map": "requests.params"}, passes=("get.success", "add.success")),
    Row("follows-redirect-as-get", {"transport.redirect-302-webhook": "requests.params", "transport.redirect-302": "requests.params", "transport.redirect-301": "requests.params", "transport.redirect-302-query": "requests.params"}, passes=("get.success", "get.not-found")),
    Row("loops-on-redirect-without-location", {"transport.redirect-without-location": "requests.count"}, passes=("get.success", "transport.redirect-302")),
    Row("posts-to-xml", {"get.success": "requests.path", "auth.oauth-get-success": "requests.path"}, passes=()),
    Row("oauth-without-token", {"auth.oauth-get-success": "requests.auth"}),
    Row("crashes-before-sending", {"get.success": None, "get.not-found": None, "auth.oauth-get-success": None}, passes=()),
    Row("leaks-secret-in-exception", {"get.not-found": "behaviour.no-secret", "transport.html-502": "behaviour.no-secret"}),
    Row("logs-secret", {"get.success": "behaviour.no-secret"}, passes=("auth.oauth-get-success",)),
    Row("prints-url", {"get.success": "behaviour.no-secret"}, passes=("auth.oauth-get-success",)),
    Row("prints-url-to-stderr", {"get.success": "behaviour.no-secret"}, passes=("auth.oauth-get-success",)),
    Row("warns-with-url", {"get.success": "behaviour.no-secret"}, passes=("auth.oauth-get-success",)),
    Row("logs-base64-secret", {"get.success": "behaviour.no-secret"}, passes=("auth.oauth-get-success",)),
    Row("leaks-secret-in-cause", {"get.not-found": "behaviour.no-secret", "add.access-denied": "behaviour.no-secret"}),
    Row("leaks-secret-in-error-args", {"get.not-found": "behaviour.no-secret", "add.access-denied": "behaviour.no-secret"}),
]
# fmt: on


def _runs_in(case_id: str, mode: str) -> bool:
    return mode in case_by_id(case_id).modes


def _params() -> list[object]:
    params = []
    for row in TABLE:
        for mode in OFFLINE_MODES:
            caught = {c: check for c, check in row.caught.items() if _runs_in(c, mode)}
            if not caught:
                continue
            marks = [pytest.mark.xfail(reason=row.gap, strict=True)] if row.gap else []
            passes = tuple(c for c in row.passes if _runs_in(c, mode))
            params.append(
                pytest.param(
                    row.name, mode, caught, passes, row.level, id=f"{row.name}-{mode}", marks=marks
                )
            )
    return params


def _summary(result: CaseResult) -> str:
    return f"{result.case_id} ({result.mode}) {result.outcome}: {result.message}"


@pytest.mark.parametrize(("name", "mode", "caught", "passes", "level"), _params())
def test_miniature_is_caught(
    name: str, mode: str, caught: dict[str, str | None], passes: tuple[str, ...], level: str
) -> None:
    factory = MINIATURES[name]
    for case_id, check in caught.items():
        result = run_in_mode(case_by_id(case_id), factory, mode, deadline=DEADLINE)
        if check is None:
            assert result.outcome == "errored", _summary(result)
        else:
            assert result.outcome in ("failed", "errored"), _summary(result)
            assert check in {f.check for f in result.failures}, _summary(result)
            # A broken miniature breaks a must (a should shortfall would let it exit 0),
            # unless all it breaks is a should.
            assert result.level == level, _summary(result)
    for case_id in passes:
        result = run_in_mode(case_by_id(case_id), factory, mode, deadline=DEADLINE)
        assert result.outcome == "passed", _summary(result)


def _offline_runs() -> list[object]:
    return [
        pytest.param(case, mode, id=f"{case.id}-{mode}")
        for case in all_cases()
        for mode in OFFLINE_MODES
        if mode in case.modes
    ]


@pytest.mark.parametrize(("case", "mode"), _offline_runs())
def test_reference_passes(case: Case, mode: str) -> None:
    result = run_in_mode(case, reference.factory, mode, deadline=DEADLINE)
    assert result.outcome == "passed", _summary(result)


def test_a_mode_that_cannot_express_a_case_skips_it_with_the_reason() -> None:
    case = case_by_id("transport.timeout")
    assert "replay" not in case.modes
    result = run_in_mode(case, reference.factory, "replay", deadline=DEADLINE)
    assert result.outcome == "skipped"
    assert result.message == "replay mode cannot express this case (it runs in stub, portal)"


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_every_check_has_a_miniature(check: str) -> None:
    catching = [
        row.name
        for row in TABLE
        if not row.gap
        for case_id, caught_by in row.caught.items()
        if caught_by == check and set(case_by_id(case_id).modes) & set(OFFLINE_MODES)
    ]
    # Checks only a live run can show are caught in tests/test_live_checks.py, over the fake
    # portal behind the live gateway.
    catching += [row.client for row in LIVE_TABLE if row.check == check]
    assert catching, (
        f"no miniature in tests/test_miniatures.py (offline) or tests/test_live_checks.py (live) "
        f"makes check {check!r} fail"
    )


def test_every_miniature_is_in_the_table() -> None:
    # The correct-but-different ones are guarded in tests/test_allowed.py.
    assert sorted(row.name for row in TABLE) == sorted(set(MINIATURES) - set(ALLOWED))


@pytest.mark.parametrize("name", sorted(MINIATURES))
def test_miniature_says_what_it_breaks(name: str) -> None:
    doc = miniature_doc(name)
    assert doc, f"miniature {name!r} needs a docstring saying what it breaks"
    assert "\n" not in doc, f"miniature {name!r} needs a one-line docstring"
    assert MINIATURES[name](offline_target(all_cases()[0], secret="s", token="t")).name == name


def test_an_undocumented_failure_kind_is_an_adapter_bug() -> None:
    result = run_in_mode(
        case_by_id("transport.html-502"), invents_a_kind, "stub", deadline=DEADLINE
    )
    assert result.outcome == "errored", _summary(result)
    assert "TransportFailure(kind='html-page'), an undocumented kind" in result.message
    assert "allowed: non-json, empty-body, bad-envelope, timeout, connection, redirect" in (
        result.message
    )
