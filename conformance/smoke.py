"""The smoke call before a run: it tells a broken adapter (exit 3) from a client that crashes
(the run goes on, its cases error; a crash before the first request too) and from a mode that
cannot see the client (skipped: it sent nothing and raised nothing of its own).

Exit 3 only when the factory raises (SystemExit and any BaseException too), the object lacks
``name``, ``capabilities`` or ``call``, the capabilities are not a set of known strings, a
harness breaks its protocol, or ``call`` returns something that is not an outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import harness
from conformance.api import CAPABILITIES, AdapterFactory
from conformance.case import Case, Expectation, RequestCount, ScriptedResponse, Step, Timing
from conformance.cassettes import cassette_text
from conformance.checks import StepRun
from conformance.engine import crashed_before_sending, execute
from conformance.errors import AdapterBroken, UsageError
from conformance.modes import MODE_NAMES
from conformance.modes import mode as mode_entry
from conformance.properties import SAMPLE_TIME
from conformance.results import OUTCOME_TYPES
from conformance.transports import Transport, memory_cassette, offline_target

#: makes a transport of a mode, optionally playing a given cassette (replay)
TransportMaker = Callable[[str, Path | None], Transport]


@dataclass
class SmokeFindings:
    """What the smoke call found, when the adapter itself works."""

    adapter_name: str
    capabilities: frozenset[str]
    #: modes that cannot see the client -> the one line that says so
    skipped_modes: dict[str, str] = field(default_factory=dict)
    #: the client crashed or hung on the plain success: said once, the run goes on
    problem: str = ""
    #: the client's version as the adapter or harness declares it (``version``), or None
    version: str | None = None


def smoke(
    factory: AdapterFactory,
    modes: Iterable[str],
    transport: TransportMaker,
    *,
    deadline: float,
) -> SmokeFindings:
    """Smoke-test ``factory`` in every catalogue mode of the run; raises AdapterBroken."""
    case = smoke_case()
    adapter = _adapter(factory, case)
    name = str(adapter.name)
    found = SmokeFindings(name, declared_capabilities(adapter, name))
    version = getattr(adapter, "version", None)
    found.version = str(version) if version else None
    # Over the portal first when the run uses it: it reaches every client, whatever its HTTP
    # stack (the stub would leave an aiohttp client retrying a refused connection); then every
    # in-process mode, to see whether it intercepts the client at all.
    served = [m for m in modes if mode_entry(m).catalogue]
    judged = False
    for mode in sorted(served, key=lambda m: mode_entry(m).offline) or ["stub"]:
        runs = _smoke_in(factory, case, mode, transport, deadline, name)
        crashed = any(crashed_before_sending(run) for run in runs)
        # A call that returned something other than an outcome is the adapter's fault in any
        # mode: a client the mode cannot see still reports what became of its request.
        answered = all(
            run.hung or run.exception is not None or isinstance(run.outcome, OUTCOME_TYPES)
            for run in runs
        )
        unseen = not crashed and answered and not any(run.requests for run in runs)
        if unseen and mode_entry(mode).offline and mode in served:
            found.skipped_modes[mode] = (
                f"{mode} mode intercepts only {mode_entry(mode).intercepts}: this client made "
                "no request it could see; use "
                + " or ".join(f"--mode {m}" for m in _modes_beyond(mode))
            )
            continue
        if not judged:
            judged = True
            found.problem = _judge(runs, name)
    if served and set(found.skipped_modes) == set(served) and set(modes) == set(served):
        # Nothing left to judge: passing would say "conformant" of a client never seen.
        raise UsageError(
            "no mode of this run can see the client: " + "; ".join(found.skipped_modes.values())
        )
    return found


def smoke_case() -> Case:
    """The plain success the smoke call asks for: an empty list."""
    body = {"result": {"badges": []}, "total": 0, "time": dict(SAMPLE_TIME)}
    step = Step(
        method="crm.activity.badge.list",
        params={},
        responses=(ScriptedResponse(status=200, body=body),),
        expect=Expectation("success", result={"badges": []}, total=0),
        requests=RequestCount(0, 10),
        timing=Timing(),
    )
    return Case(
        id="smoke.list",
        description="the adapter answers a list call with an outcome",
        level="must",
        source="docs",
        contract=("1.3",),
        contract_checks=(),
        needs=frozenset(),
        modes=("stub", "replay", "portal"),
        auth="webhook",
        steps=(step,),
        file="(built in)",
    )


def declared_capabilities(adapter: Any, name: str) -> frozenset[str]:
    """The adapter's capabilities: a set of known strings, or AdapterBroken."""
    declared = adapter.capabilities
    try:
        if isinstance(declared, str | bytes):
            raise TypeError(type(declared).__name__)
        capabilities = frozenset(declared)
        if not all(isinstance(one, str) for one in capabilities):
            raise TypeError("not strings")
    except TypeError:
        raise AdapterBroken(
            f"adapter {name!r} declares capabilities {_short(repr(declared))}, not a set of "
            f"strings; known: {', '.join(CAPABILITIES)}"
        ) from None
    strange = sorted(capabilities - set(CAPABILITIES))
    if strange:
        raise AdapterBroken(
            f"adapter {name!r} declares unknown capabilities {strange}; "
            f"known: {', '.join(CAPABILITIES)}"
        )
    return capabilities


def _adapter(factory: AdapterFactory, case: Case) -> Any:
    target = offline_target(case, secret="0" * 16, token="smoke-token")  # noqa: S106
    try:
        adapter = factory(target)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a factory returns an adapter or fails
        raise AdapterBroken(
            f"the adapter factory raised {type(exc).__name__}: {_short(str(exc))}"
        ) from None
    for attribute in ("name", "capabilities", "call"):
        if not hasattr(adapter, attribute):
            raise AdapterBroken(f"the adapter has no {attribute!r} (see docs: writing an adapter)")
    return adapter


def _smoke_in(
    factory: AdapterFactory,
    case: Case,
    mode: str,
    transport: TransportMaker,
    deadline: float,
    name: str,
) -> list[StepRun]:
    if mode == "replay":
        with memory_cassette(cassette_text(case)) as cassette:
            execution = execute(
                case, factory, mode, transport(mode, Path(cassette)), deadline=deadline
            )
    else:
        execution = execute(case, factory, mode, transport(mode, None), deadline=deadline)
    if execution.context is None:
        raise AdapterBroken(f"smoke call of adapter {name!r}: {execution.result.message}")
    return execution.context.runs


def _judge(runs: list[StepRun], name: str) -> str:
    """AdapterBroken for an adapter fault; the line saying the client crashed or hung; or ''."""
    for run in runs:
        if run.raised is not None and issubclass(run.raised, harness.HarnessError):
            raise AdapterBroken(
                f"smoke call of adapter {name!r}: an exception escaped the adapter: "
                f"{_last_line(run.exception)}"
            )
        if run.exception is not None:
            return (
                "the client crashed on the smoke call (a plain list success): "
                f"{_last_line(run.exception)}; its cases run and show it"
            )
        if run.hung:
            return "the client hung on the smoke call (a plain list success); its cases run"
        if not isinstance(run.outcome, OUTCOME_TYPES):
            raise AdapterBroken(
                f"smoke call of adapter {name!r} returned something that is not an Outcome "
                f"({type(run.outcome).__name__}; expected "
                f"{', '.join(t.__name__ for t in OUTCOME_TYPES)})"
            )
    return ""


def _modes_beyond(mode: str) -> list[str]:
    """The catalogue modes that reach more clients than ``mode`` does."""
    names = [m for m in MODE_NAMES if mode_entry(m).catalogue]
    return names[names.index(mode) + 1 :]


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:197] + "..."


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return _short(lines[-1]) if lines else ""
