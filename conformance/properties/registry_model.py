"""The badge-registry property's judgements: what a model of the registry says an answer must
be. conformance.machine drives the calls and raises on the failures these return."""

from __future__ import annotations

from typing import Any

from conformance.api import ApiError, Outcome, Success
from conformance.properties.definitions import BADGE_REGISTRY
from conformance.results import Failure, describe_outcome, normalised, show

__all__ = ["judge_error", "judge_success", "judge_total", "listed_badges"]


def _failure(fact: str, expected: str, actual: str, hint: str) -> Failure:
    return Failure(BADGE_REGISTRY, fact, expected, actual, f"property {BADGE_REGISTRY}", hint)


def judge_success(fact: str, outcome: Outcome, result: Any) -> Failure | None:
    """The model's judgement of an answer that must be a Success with this result."""
    if isinstance(outcome, Success) and normalised(outcome.result) == normalised(result):
        return None
    hint = "the registry answers what was stored, language maps as maps"
    return _failure(fact, f"Success(result={show(result)})", describe_outcome(outcome), hint)


def judge_error(
    fact: str, outcome: Outcome, code: str, status: int, capabilities: frozenset[str]
) -> Failure | None:
    """The model's judgement of an answer that must be this ApiError (its status when the
    adapter reports statuses)."""
    right_code = isinstance(outcome, ApiError) and str(outcome.code) == code
    wrong_status = (
        "status" in capabilities and isinstance(outcome, ApiError) and outcome.status != status
    )
    if right_code and not wrong_status:
        return None
    shown_status = f", status={status}" if "status" in capabilities else ""
    hint = "CONTRACT.md 1.1 to 1.4: the portal's errors, codes kept as sent"
    return _failure(fact, f"ApiError(code={code!r}{shown_status})", describe_outcome(outcome), hint)


def judge_total(outcome: Outcome, capabilities: frozenset[str]) -> Failure | None:
    """A list's total (when the adapter reports it) counts every badge on the page."""
    if "total" not in capabilities or not isinstance(outcome, Success):
        return None
    everything = len(listed_badges(outcome))
    if outcome.total == everything:
        return None
    fact = "list's total counts every badge on the page"
    hint = "list answers carry total beside result; the page holds every badge"
    return _failure(fact, f"total={everything}", f"total={outcome.total}", hint)


def listed_badges(outcome: Outcome) -> list[dict[str, Any]]:
    """The badges a list answer holds (none when it is no Success with a badges list)."""
    if isinstance(outcome, Success) and isinstance(outcome.result, dict):
        badges = outcome.result.get("badges")
        if isinstance(badges, list):
            return [badge for badge in badges if isinstance(badge, dict)]
    return []
