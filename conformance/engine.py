"""Run one case against one adapter over one transport, and judge it with the named checks.

This is the core: no pytest, no CLI, no mode of its own (the caller hands in the transport).
The pytest plugin and ``b24-conformance run`` call it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import checks
from conformance._capture import captured_output
from conformance.api import CAPABILITIES, Adapter, AdapterFactory, Redactor, Target
from conformance.case import Case, Step
from conformance.checks import CheckContext, StepRun
from conformance.results import (
    DEFAULT_DEADLINE,
    CaseResult,
    call_with_deadline,
    clip,
    conclude,
)
from conformance.transports import (
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    Script,
    Transport,
)
from conformance.wire import php_json

__all__ = [
    "DEFAULT_DEADLINE",
    "Execution",
    "canary_secrets",
    "execute",
    "judge",
    "mode_reason",
    "reproduction",
    "run_case",
    "skip_reason",
]


def canary_secrets() -> tuple[str, str]:
    """A fresh webhook secret and token for a run: any occurrence in output is a leak."""
    return secrets.token_hex(8), "tok" + secrets.token_hex(12)


def mode_reason(mode: str, modes: tuple[str, ...], what: str = "case") -> str | None:
    """Why ``mode`` skips a case (or property) that runs only in ``modes``; None if it runs."""
    if mode in modes:
        return None
    return f"{mode} mode cannot express this {what} (it runs in {', '.join(modes)})"


def skip_reason(case: Case, capabilities: frozenset[str], adapter_name: str) -> str | None:
    """Why a case does not run for this adapter: a capability it does not declare."""
    needed = set(case.needs) | ({"oauth"} if case.auth == "oauth" else set())
    for capability in sorted(needed - capabilities):
        return (
            f"needs capability {capability!r} ({CAPABILITIES.get(capability, 'undocumented')}), "
            f"which adapter {adapter_name!r} does not declare"
        )
    return None


@dataclass
class Execution:
    """One case driven through a transport, not yet judged."""

    result: CaseResult
    redact: Redactor
    #: None when the case never reached the adapter's calls (skipped, factory or transport broke)
    context: CheckContext | None = None
    escaped: str | None = None
    adapter: Any = field(default=None, repr=False)


def execute(
    case: Case,
    factory: AdapterFactory,
    mode: str,
    transport: Transport,
    *,
    deadline: float = DEFAULT_DEADLINE,
    canaries: tuple[str, str] | None = None,
) -> Execution:
    """Make the adapter and drive every step of ``case`` through ``transport``; never raises
    for client or adapter faults (they land in the result)."""
    secret, token = canaries or canary_secrets()
    target = transport.target_for(case, secret, token)
    redact = Redactor(target.secrets)
    result = CaseResult(case.id, mode, "passed", level=case.level)
    execution = Execution(result, redact)
    # What the factory and the calls print, warn or log is watched and redacted; one capture
    # for both, as entering one costs about as much as a stub case's own work.
    with captured_output(redact) as captured:
        try:
            adapter = factory(target)
            name, capabilities = str(adapter.name), frozenset(adapter.capabilities)
        except Exception as exc:
            result.outcome = "errored"
            result.message = redact(f"the adapter factory raised {type(exc).__name__}: {exc}")
            return execution
        execution.adapter = adapter
        reason = skip_reason(case, capabilities, name)
        if reason:
            result.outcome, result.message = "skipped", reason
            return execution
        script = Script(case, substitutions={SECRET_PLACEHOLDER: secret, TOKEN_PLACEHOLDER: token})
        try:
            runs = _drive(adapter, case, transport, script, deadline)
        except Exception as exc:
            result.outcome = "errored"
            result.message = redact(f"the {mode} transport failed: {type(exc).__name__}: {exc}")
            return execution
    execution.context = CheckContext(
        case,
        mode,
        target,
        name,
        capabilities,
        runs,
        captured.records,
        deadline,
        list(script.served),
        seen=captured.seen,
    )
    execution.escaped = next((run.exception for run in runs if run.exception), None)
    result.requests = len(script.requests)
    return execution


def judge(execution: Execution) -> CaseResult:
    """Run every registered case check over an execution and conclude its outcome."""
    result, context = execution.result, execution.context
    if context is not None:
        conclude(
            result,
            checks.run_checks("case", context),
            execution.redact,
            escaped=execution.escaped,
        )
    return result


def run_case(
    case: Case,
    factory: AdapterFactory,
    mode: str,
    transport: Transport,
    *,
    deadline: float = DEFAULT_DEADLINE,
    canaries: tuple[str, str] | None = None,
    rerun: str = "",
) -> CaseResult:
    """Run every step of a case over ``transport`` and judge it; never raises for client or
    adapter faults. A case the mode cannot express is skipped before the transport serves."""
    if reason := mode_reason(mode, case.modes):
        return CaseResult(case.id, mode, "skipped", reason, level=case.level)
    started = time.monotonic()
    execution = execute(case, factory, mode, transport, deadline=deadline, canaries=canaries)
    if execution.context is not None:
        # Rendered for every case: a passing one can still fail later (a live case's portal
        # checks, a baseline entry gone stale), and its report then shows the reproduction.
        execution.result.reproduction = execution.redact(
            reproduction(case, execution.context.target, rerun)
        )
    result = judge(execution)
    result.rerun = rerun
    result.duration = time.monotonic() - started
    return result


def _call(adapter: Adapter, step: Step, deadline: float) -> StepRun:
    params = copy.deepcopy(dict(step.params))
    call = call_with_deadline(lambda: adapter.call(step.method, params), deadline)
    return StepRun(
        index=-1,
        step=step,
        outcome=call.value,
        exception=call.exception,
        hung=call.hung,
        seconds=call.seconds,
    )


def _drive(
    adapter: Adapter, case: Case, transport: Transport, script: Script, deadline: float
) -> list[StepRun]:
    """Make the case's calls through the transport; stop at a hang or an escaped exception."""
    runs: list[StepRun] = []
    try:
        with transport.serve(script):
            for index, step in enumerate(case.steps):
                with transport.step(script, index):
                    run = _call(adapter, step, deadline)
                run.index = index
                run.requests = script.step_requests(index)
                runs.append(run)
                if run.hung or run.exception is not None:
                    break
    finally:
        closer = getattr(adapter, "close", None)
        if callable(closer):
            with contextlib.suppress(Exception):  # closing is best effort
                closer()
    return runs


def reproduction(case: Case, target: Target, rerun: str = "") -> str:
    """The calls a case scripts, as curl commands against the portal, and the rerun command."""
    lines = []
    for number, step in enumerate(case.steps, 1):
        body = json.dumps(dict(step.params), ensure_ascii=False)
        if case.auth == "oauth":
            url = f"{target.oauth_url}{step.method}.json"
            auth = f" -H 'Authorization: Bearer {target.auth_token}'"
        else:
            url, auth = f"{target.base_url}{step.method}.json", ""
        if step.responses:
            lines.append(
                f"# step {number}: the portal answers "
                + "; then ".join(_describe_answer(r.as_dict()) for r in step.responses)
            )
        else:
            # A stateful step: the portal's store answers; the case says what must come out.
            lines.append(f"# step {number}: expected {step.expect.describe()}")
        lines.append(f"curl -X POST -H 'Content-Type: application/json'{auth} -d '{body}' '{url}'")
    if rerun:
        lines.append(f"# rerun just this case: {rerun}")
    return "\n".join(lines)


def _describe_answer(answer: Mapping[str, Any]) -> str:
    if "fault" in answer:
        return f"a {answer['fault']}"
    shown = php_json(answer["body"]) if "body" in answer else repr(answer.get("raw", ""))
    return f"HTTP {answer['status']} {clip(shown, 160)}"
