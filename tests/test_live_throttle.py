"""Live mode under a portal bucket stricter than the budget: the budget adapts (AIMD), the
gateway waits out QUERY_LIMIT_EXCEEDED for the client, and cleanup retries until a deadline.
One fake clock drives the portal's bucket, the budget and the cleanup's pauses, so a bucket
of 0.5 requests a second costs no real time and the outcome does not depend on the machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conformance.live.budget import BudgetSettings, RequestBudget
from conformance.live.run import CLEANUP_DEADLINE, LiveRun, LiveSettings
from conformance.portal import FakePortal, Fault
from conformance.reference import factory
from tests.fixtures.clock import FakeClock
from tests.fixtures.live import add_badge, codes

FOREIGN = "someone-elses-badge"


@contextmanager
def _live_run(portal: FakePortal, clock: FakeClock) -> Iterator[LiveRun]:
    run = LiveRun(
        LiveSettings(allow_writes=True),
        env={"B24_WEBHOOK_URL": portal.webhook_url()},
        clock=clock,
        sleep=clock.sleep,
    )
    run.start()
    try:
        yield run
    finally:
        run.close()


def _verdicts(
    bucket: tuple[int, float] | None,
) -> tuple[dict[str, str], dict[str, Any], FakePortal]:
    """Every live case's outcome with writes on, against a portal with ``bucket``."""
    clock = FakeClock()
    with FakePortal(bucket=bucket, clock=clock) as portal:
        add_badge(portal, FOREIGN)
        with _live_run(portal, clock) as run:
            outcomes = {case: run.run(case, factory).outcome for case in run.case_ids()}
        summary = run.summary()
        portal_codes = codes(portal)
        portal.stop()
        deletes = [
            r.body
            for r in portal.requests
            if "badge.delete" in r.url and FOREIGN.encode() in r.body
        ]
    assert deletes == [], "a foreign badge was touched"
    assert portal_codes == [FOREIGN], "zero leftovers, and the foreign badge still there"
    return outcomes, summary, portal


@pytest.fixture(scope="module")
def unthrottled() -> dict[str, str]:
    outcomes, summary, _ = _verdicts(None)
    assert summary["requests"]["query_limit_exceeded"] == 0
    assert set(outcomes.values()) == {"passed"}, outcomes
    return outcomes


@pytest.mark.parametrize("bucket", [(10, 1.0), (5, 0.5)], ids=["10-1", "5-0.5"])
def test_a_strict_bucket_leaves_nothing_behind_and_changes_no_verdict(
    bucket: tuple[int, float], unthrottled: dict[str, str]
) -> None:
    outcomes, summary, _ = _verdicts(bucket)
    assert outcomes == unthrottled, "the portal's throttling changed a verdict"
    assert summary["cleanup"]["leftovers"] == []
    assert summary["requests"]["query_limit_exceeded"] >= 1, "the control: the bucket tripped"
    assert summary["requests"]["absorbed_by_gateway"] == summary["requests"]["query_limit_exceeded"]
    assert summary["budget"]["throttled"] >= 1
    assert summary["problems"] == []


def test_the_budget_halves_on_a_throttle_and_wins_the_rate_back_slowly() -> None:
    clock = FakeClock()
    budget = RequestBudget(BudgetSettings(rate=2.0, burst=10), clock=clock, sleep=clock.sleep)
    budget.throttled()
    assert (budget.rate, budget.capacity) == (1.0, 4.0)
    # The bucket counts as full: the next request waits a whole slot at the lower rate.
    assert budget.acquire() == pytest.approx(1.0)
    budget.throttled()
    assert (budget.rate, budget.capacity) == (0.5, 2.0)
    for _ in range(25):
        budget.admitted()
    assert budget.rate == pytest.approx(0.5 + 25 * 2.0 / 50)
    for _ in range(1000):
        budget.admitted()
    assert (budget.rate, budget.capacity) == (2.0, 8.0), "never past the configured rate"
    for _ in range(20):
        budget.throttled()
    assert budget.rate == pytest.approx(2.0 / 64), "and never below its floor"
    assert budget.capacity == 1.0


def test_cleanup_retries_until_the_portal_lets_the_delete_through() -> None:
    """Deletes that fail for a while (a 502 proxy page three times) still end with zero
    leftovers: the cleanup pauses and tries again before it gives up."""
    clock = FakeClock()
    with FakePortal(bucket=None, clock=clock) as portal:
        with _live_run(portal, clock) as run:
            run.run("state.add-get-list-delete", factory)
            created = run.gateway.created_codes()
            portal.inject(Fault.html(502), method="crm.activity.badge.list", times=3)
            add = [c for c in created if c not in run.gateway.deleted]
            assert add == [], "the case's own finalizer deleted its badge"
            # Plant a leftover of this run's prefix that only the list finds.
            add_badge(portal, f"{run.prefix}leftover")
        summary = run.summary()
        left = codes(portal)
    assert left == []
    assert summary["cleanup"]["leftovers"] == []
    assert summary["problems"] == []
    assert clock.sleeps[:3] == [0.5, 1.0, 2.0], "a backoff, doubling"


def test_past_the_cleanup_deadline_the_exact_sweep_command_is_printed() -> None:
    clock = FakeClock()
    with FakePortal(bucket=None, clock=clock) as portal:
        with _live_run(portal, clock) as run:
            run.run("state.delete-twice", factory)
            add_badge(portal, f"{run.prefix}stuck")
            portal.mark_in_use(f"{run.prefix}stuck")
        summary = run.summary()
    assert summary["cleanup"]["leftovers"] == [f"{run.prefix}stuck"]
    assert sum(clock.sleeps) <= CLEANUP_DEADLINE
    assert sum(clock.sleeps) >= CLEANUP_DEADLINE / 2, "it kept trying"
    assert any(
        f"`b24-conformance sweep --prefix {run.prefix}`" in problem
        for problem in summary["problems"]
    ), summary["problems"]
