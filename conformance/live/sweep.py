"""``b24-conformance sweep``: remove the leftovers of a live run that was killed outright,
only ever codes under a run prefix (b24ct-...)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from conformance.api import Redactor
from conformance.live.answers import gone, listed_codes
from conformance.live.budget import BudgetSettings, RequestBudget
from conformance.live.cases import CODE_PREFIX
from conformance.live.gateway import DELETE, LIST, Gateway
from conformance.live.target import portal_from_env


class SweepRefused(ValueError):
    """A sweep prefix that could touch badges the suite did not create."""


@dataclass
class SweepResult:
    removed: list[str]
    failed: list[tuple[str, str]]
    requests: int


def sweep(
    prefix: str,
    *,
    env: Mapping[str, str] | None = None,
    base_url: str | None = None,
    budget: BudgetSettings | None = None,
    dry_run: bool = False,
    on_removed: Callable[[str], None] | None = None,
) -> SweepResult:
    """Delete every badge whose code starts with ``prefix`` (which must start with b24ct-)."""
    if not prefix.startswith(CODE_PREFIX):
        raise SweepRefused(
            f"--prefix {prefix!r} does not start with {CODE_PREFIX!r}: sweep removes only what "
            "live runs created (their codes start with b24ct-<run id>-)"
        )
    portal = portal_from_env(os.environ if env is None else env, base_url)
    gateway = Gateway(
        portal, RequestBudget(budget or BudgetSettings()), prefix=prefix, allow_writes=True
    )
    listed = gateway.call(LIST, {})
    body = listed.json()
    if not isinstance(body, dict) or "result" not in body:
        code = body.get("error") if isinstance(body, dict) else f"HTTP {listed.status}"
        raise RuntimeError(Redactor(portal.secrets)(f"list answered {code}, not a badge list"))
    removed: list[str] = []
    failed: list[tuple[str, str]] = []
    for code in listed_codes(listed):
        if not code.startswith(prefix):
            continue
        if dry_run:
            removed.append(code)
            continue
        answer = gateway.call(DELETE, {"code": code})
        if gone(answer):
            removed.append(code)
            if on_removed is not None:
                on_removed(code)
        else:
            result = answer.json()
            why = answer.local or str(
                result.get("error") if isinstance(result, dict) else f"HTTP {answer.status}"
            )
            failed.append((code, why))
    return SweepResult(removed, failed, gateway.budget.made)
