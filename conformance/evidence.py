"""What a case observed, as data: the evidence behind a verdict and a baseline entry.

A failed case's evidence names what was sent (method and path of every request, per step),
how long each attempt took, what the client reported (or raised, or that it hung) and which
checks failed at which level. ``describe`` turns it into the one line that baselines,
compliance pages and per-client docs show, so no reason is written by hand; ``difference``
tells whether a new run still shows the recorded evidence (DESIGN.md 6a).

Everything but the attempt times is compared: the times are shown, as clocks and retry
jitter make them differ from run to run. What timing decides is compared loosely: the numbers
inside a failed check's text (requests so far, waits), and how often a request was repeated
in a step that hung or timed out (how many attempts fit before the deadline depends on the
machine's load); which requests were sent and what was reported are compared exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from conformance.api import ApiError, Success, TransportFailure
from conformance.results import clip

__all__ = ["describe", "difference", "failed_summary", "fingerprint", "observe"]

#: the keys of an evidence document that a reproduction must show again (times are not)
_UNCOMPARED: Final = frozenset({"attempts"})
#: how long a shown text may get
SHOWN: Final = 160
#: what differs between two runs of the same behaviour inside a text: times, ports, stamps
_VOLATILE: Final = re.compile(r"\d+\.\d+|\d{4,}")
#: the random token of a run's badge codes (machine.py's run prefix, b24c-<8 hex>-)
_RUN_TOKEN: Final = re.compile(r"(?<=-)[0-9a-f]{8}(?=-)")
_NUMBER: Final = re.compile(r"\d+")
#: the harness command inside a harness's crash text: a relative or an absolute path, by caller
_HARNESS_COMMAND: Final = re.compile(r"harness \S.*? reports that ")
#: what a step reports when the deadline decided how many attempts it made
_TIMED: Final = (
    "nothing: the call had not returned by the deadline",
    "TransportFailure(kind='timeout'",
)


def observe(
    runs: Sequence[Any],
    failures: Iterable[Any],
    *,
    portal_url: str,
    outcome: str,
    level: str,
    redact: Callable[[str], str],
    said: str = "",
) -> dict[str, Any]:
    """The evidence of one case in one mode: its steps (``StepRun``) and failures."""
    portal = urlsplit(portal_url).netloc
    steps = []
    for run in runs:
        step: dict[str, Any] = {
            "method": run.step.method,
            "sent": _run_length([_request_line(r, portal, redact) for r in run.requests]),
            "attempts": [round(seconds, 1) for seconds in run.attempts()],
        }
        step.update(_reported(run, redact))
        steps.append(step)
    failed = []
    for failure in failures:
        entry = {
            "check": failure.check,
            "level": failure.level or level,
            "title": failure.title,
            "actual": clip(" ".join(failure.actual.split()), SHOWN),
        }
        if entry not in failed:
            failed.append(entry)
    observed = {"outcome": outcome, "level": level, "steps": steps, "failed": failed}
    if said:
        # Shown, not compared: a property's first line names its drawn example.
        observed["said"] = redact(clip(" ".join(said.split()), SHOWN))
    return observed


def _request_line(request: Any, portal: str, redact: Callable[[str], str]) -> str:
    parts = urlsplit(request.url)
    where = "" if parts.netloc == portal or not parts.netloc else "another address: "
    # Query values a client makes up per request (request ids, SDK versions) vary between runs:
    # the line keeps the parameter names only.
    names = [pair.split("=", 1)[0] for pair in parts.query.split("&") if pair]
    path = parts.path + (f"?{'&'.join(f'{name}=...' for name in names)}" if names else "")
    return redact(f"{request.method} {where}{path}")


def _run_length(lines: list[str]) -> list[list[Any]]:
    """``[line, times]`` pairs for consecutive equal request lines (retry storms stay short)."""
    runs: list[list[Any]] = []
    for line in lines:
        if runs and runs[-1][0] == line:
            runs[-1][1] += 1
        else:
            runs.append([line, 1])
    return runs


def _reported(run: Any, redact: Callable[[str], str]) -> dict[str, Any]:
    if run.hung:
        return {"reported": "nothing: the call had not returned by the deadline"}
    if run.exception is not None:
        lines = run.exception.strip().splitlines()
        last = lines[-1] if lines else "an exception"
        # The harness command (a relative or an absolute path, by caller) goes before the clip,
        # or the length of the checkout's path would decide where the client's own text ends.
        last = _HARNESS_COMMAND.sub("harness ", last)
        return {"reported": redact(clip(f"raised {last}", SHOWN))}
    outcome = run.outcome
    if isinstance(outcome, Success):
        total = f"(total={outcome.total})" if outcome.total is not None else ""
        return {"reported": f"Success{total}"}
    if isinstance(outcome, ApiError):
        return {"reported": redact(f"ApiError(code={outcome.code!r}, status={outcome.status})")}
    if isinstance(outcome, TransportFailure):
        return {"reported": f"TransportFailure(kind={outcome.kind!r}, status={outcome.status})"}
    return {"reported": f"a {type(outcome).__name__}, not an outcome"}


def fingerprint(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the evidence a reproduction must show again (all but attempt times)."""
    return {
        "outcome": evidence.get("outcome"),
        "level": evidence.get("level"),
        "failed": [_steady_failure(dict(f)) for f in evidence.get("failed", [])],
        "steps": [_steady_step(step) for step in evidence.get("steps", [])],
    }


def _steady_failure(entry: dict[str, Any]) -> dict[str, Any]:
    steady = _steady(entry)
    if isinstance(steady.get("actual"), str):
        # Counts and waits in a check's text follow the clock (10 requests so far, or 9).
        steady["actual"] = _NUMBER.sub("#", steady["actual"])
    return steady


def _steady_step(step: Mapping[str, Any]) -> dict[str, Any]:
    steady = _steady({k: v for k, v in step.items() if k not in _UNCOMPARED})
    reported = str(step.get("reported", ""))
    if reported.startswith(_TIMED) and isinstance(steady.get("sent"), list):
        # The deadline, not the client alone, decided how often it repeated each request.
        steady["sent"] = [[line, "repeated" if times > 1 else 1] for line, times in steady["sent"]]
    return steady


def _steady(entry: dict[str, Any]) -> dict[str, Any]:
    # Numbers with a fraction and long ones (times, ports, Unix stamps) vary between runs
    # (query values and the harness command are dropped when the evidence is recorded).
    steady = {
        k: _VOLATILE.sub("#", _RUN_TOKEN.sub("<run>", v)) if isinstance(v, str) else v
        for k, v in entry.items()
    }
    return steady


def difference(recorded: Mapping[str, Any], observed: Mapping[str, Any]) -> str | None:
    """None when ``observed`` shows the recorded evidence again; else what changed."""
    before, now = fingerprint(recorded), fingerprint(observed)
    if before == now:
        return None
    for key in ("outcome", "level"):
        if before[key] != now[key]:
            return f"{key} {before[key]} then, {now[key]} now"
    if before["failed"] != now["failed"]:
        return f"failed {_checks(before['failed'])} then, {_checks(now['failed'])} now"
    for number, (old, new) in enumerate(zip(before["steps"], now["steps"], strict=False), 1):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return f"step {number} {key}: {old.get(key)!r} then, {new.get(key)!r} now"
    return f"{len(before['steps'])} step(s) then, {len(now['steps'])} now"


def _checks(failed: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(f"{f['check']} ({f['level']})" for f in failed) or "nothing"


def describe(evidence: Mapping[str, Any], mode: str = "") -> str:
    """The one line shown for an expected failure, made from its evidence alone."""
    steps = evidence.get("steps", [])
    shown = []
    for step in steps:
        sent = step.get("sent", [])
        count = sum(times for _, times in sent)
        requests = ", ".join(line if times == 1 else f"{times}x {line}" for line, times in sent)
        attempts = step.get("attempts", [])
        timing = ""
        if attempts and max(attempts) >= 0.5:
            timing = " (attempts " + ", ".join(f"{s:g}s" for s in attempts) + ")"
        said = f"{count} request{'s' if count != 1 else ''}"
        said += f": {requests}" if requests else ""
        shown.append(f"{step.get('method', '?')}: {said}{timing}; reported {step['reported']}")
    failed = failed_summary(evidence)
    where = f"{mode}: " if mode else ""
    body = " / ".join(shown) or evidence.get("said") or "no call"
    return f"{where}{body} -> {failed}"


def failed_summary(evidence: Mapping[str, Any]) -> str:
    """What failed, from the evidence: each check with its level, title and what it saw."""
    failed = "; ".join(
        f"{f['check']} ({f['level']}): {f['title']}"
        + (f" ({f['actual']})" if f.get("actual") else "")
        for f in evidence.get("failed", [])
    )
    return failed or f"{evidence.get('outcome', 'failed')} ({evidence.get('level', 'must')})"
