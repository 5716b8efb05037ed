"""Checks of what the client reports: the kind of outcome, its payload, code and status."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from conformance.api import TRANSPORT_FAILURE_KINDS, ApiError, Success, TransportFailure
from conformance.case import uses_now
from conformance.checks._registry import CheckContext, check
from conformance.results import Failure, describe_outcome, normalised, show
from conformance.schemas import documented_time_keys

_KINDS = {Success: "success", ApiError: "api-error", TransportFailure: "transport-failure"}


@check("outcome.kind")
def check_outcome_kind(context: CheckContext) -> Iterator[Failure]:
    """The client reports the right kind of outcome: success, API error or transport failure."""
    for run in context.runs:
        if run.exception is not None or run.hung:
            continue
        expected = run.step.expect
        actual = _KINDS.get(type(run.outcome))
        if actual != expected.outcome:
            yield Failure(
                "outcome.kind",
                f"wrong kind of outcome: {actual or 'not an Outcome'} "
                f"instead of {expected.outcome}",
                expected.describe(),
                describe_outcome(run.outcome),
                context.where(run),
                _KIND_HINTS.get((expected.outcome, actual or ""), ""),
            )


_KIND_HINTS = {
    (
        "api-error",
        "success",
    ): 'an error envelope (maybe with HTTP 200, or a falsy code 0 or "") was taken for success',
    ("transport-failure", "success"): "a body that is not a v2 envelope was taken for success",
    ("success", "api-error"): "a success envelope was reported as an error",
    (
        "success",
        "transport-failure",
    ): "the client gave up where a retry or a correct parse would succeed",
}


@check("outcome.failure-kind")
def check_failure_kind(context: CheckContext) -> Iterator[Failure]:
    """A transport failure names what went wrong: non-json, empty-body, bad-envelope, timeout..."""
    for run in context.runs:
        expected = run.step.expect
        if not isinstance(run.outcome, TransportFailure) or expected.outcome != "transport-failure":
            continue
        if expected.kind is not None and run.outcome.kind != expected.kind:
            yield Failure(
                "outcome.failure-kind",
                "the transport failure has the wrong kind",
                f"kind={expected.kind!r}",
                f"kind={run.outcome.kind!r}",
                context.where(run, "TransportFailure.kind"),
                "kinds: " + ", ".join(TRANSPORT_FAILURE_KINDS),
            )


@check("outcome.payload")
def check_outcome_payload(context: CheckContext) -> Iterator[Failure]:
    """A success carries the envelope's result, compared as parsed JSON, and total when declared."""
    for run in context.runs:
        expected = run.step.expect
        if not isinstance(run.outcome, Success) or expected.outcome != "success":
            continue
        if expected.has_result and normalised(run.outcome.result) != normalised(expected.result):
            yield Failure(
                "outcome.payload",
                "the success payload differs from the envelope's result",
                show(expected.result),
                show(run.outcome.result),
                context.where(run, "Success.result"),
                "titles and values may be language maps; \\uXXXX escapes decode to characters",
            )
        timing = expected.time
        judged = timing is not None and "time" in context.capabilities and not uses_now(timing)
        if judged and not _time_kept(timing, run.outcome.time):
            yield Failure(
                "outcome.payload",
                "the success lost or changed the envelope's time block",
                show(timing),
                show(run.outcome.time),
                context.where(run, "Success.time"),
                "the adapter declares capability 'time'; its documented keys must come through "
                "unchanged, keys the docs do not list may be kept or dropped",
            )
        if expected.no_total and "total" in context.capabilities and run.outcome.total is not None:
            yield Failure(
                "outcome.payload",
                "the success carries a total the envelope does not have",
                "no total (Success.total None)",
                f"total={run.outcome.total}",
                context.where(run, "Success.total"),
                "an absent total stays absent: do not invent 0 or the page length",
            )
        if (
            expected.total is not None
            and "total" in context.capabilities
            and run.outcome.total != expected.total
        ):
            yield Failure(
                "outcome.payload",
                "the success lost the envelope's top-level total",
                f"total={expected.total}",
                f"total={run.outcome.total}",
                context.where(run, "Success.total"),
                "list answers carry total beside result, not inside it",
            )


@check("outcome.code")
def check_outcome_code(context: CheckContext) -> Iterator[Failure]:
    """An API error carries the code exactly as the portal sent it (100 and "100" are equal)."""
    for run in context.runs:
        expected = run.step.expect
        if not isinstance(run.outcome, ApiError) or expected.outcome != "api-error":
            continue
        if expected.code is None and expected.any_code:
            continue  # an alternative that takes any API error: the portal sent no code
        if run.outcome.code is None or str(run.outcome.code) != str(expected.code):
            yield Failure(
                "outcome.code",
                "the error code is not the one the portal sent",
                repr(expected.code),
                repr(run.outcome.code),
                context.where(run, "ApiError.code"),
                "keep the code as sent: numbers (100, 0), empty strings, lowercase OAuth codes",
            )


@check("outcome.description")
def check_outcome_description(context: CheckContext) -> Iterator[Failure]:
    """An API error hands the portal's error_description to the caller unchanged (a should)."""
    for run in context.runs:
        expected = run.step.expect
        if expected.description is None or not isinstance(run.outcome, ApiError):
            continue
        if expected.outcome == "api-error" and run.outcome.description != expected.description:
            yield Failure(
                "outcome.description",
                "the error description did not reach the caller unchanged",
                repr(expected.description),
                repr(run.outcome.description),
                context.where(run, "ApiError.description"),
                "hand error_description on as sent: it is what tells a person what went wrong",
                level="should",
            )


@check("outcome.status")
def check_outcome_status(context: CheckContext) -> Iterator[Failure]:
    """With capability status, errors and transport failures carry the HTTP status."""
    if "status" not in context.capabilities:
        return
    for run in context.runs:
        expected = run.step.expect
        if expected.status is None or not isinstance(run.outcome, ApiError | TransportFailure):
            continue
        if _KINDS[type(run.outcome)] != expected.outcome:
            continue
        if run.outcome.status != expected.status:
            yield Failure(
                "outcome.status",
                "the HTTP status is lost or wrong",
                f"status={expected.status}",
                f"status={run.outcome.status}",
                context.where(run, f"{type(run.outcome).__name__}.status"),
                "the adapter declares capability 'status'",
            )


def _time_kept(served: Mapping[str, Any], reported: Mapping[str, Any] | None) -> bool:
    """Whether the reported time block keeps every documented key of the served one, unchanged.

    Keys the docs do not list may be kept (unchanged) or dropped (CONTRACT.md 4.1).
    """
    if reported is None:
        return False
    documented = documented_time_keys()
    for key, value in served.items():
        judged = key in documented or key in reported
        if judged and (key not in reported or normalised(reported[key]) != normalised(value)):
            return False
    return set(reported) <= set(served)
