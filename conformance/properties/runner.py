"""Running a property: every generated example as a Case through the engine, its judgment, and
the result (the minimal example, the seed and the command that replays it).

Like conformance.engine this is core, not pytest: ``run_property`` returns a CaseResult whose
case id is the property id. Every example builds its own Case, transport and adapter, runs it
with ``engine.run_case`` and is judged by ``judge_example``.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisException

from conformance.api import Adapter, AdapterFactory, Outcome, Target
from conformance.case import MODES, Case, RequestCount, Step, Timing, expectation_from
from conformance.engine import mode_reason, run_case
from conformance.properties import held
from conformance.properties.constants import suite_constants_only
from conformance.properties.definitions import MachineProperty, ScriptedProperty, property_by_id
from conformance.properties.exchanges import (
    ExampleTransport,
    Exchange,
    example_modes,
    example_transport,
)
from conformance.properties.profiles import (
    DEFAULT_PROFILE,
    NOT_SHRUNK_EXPECTED,
    choose_seed,
    hypothesis_profile,
)
from conformance.results import DEFAULT_DEADLINE, CaseResult, Failure, conclude

__all__ = ["client_spec", "judge_example", "rerun_command", "run_property"]

_E = TypeVar("_E", bound=BaseException)


class _ExampleRunBroken(Exception):
    """An example could not run (a factory that raises, a broken transport): not the client's
    fault, so the property run is errored instead of falsified."""


class _Falsified(Exception):
    """One example the property does not hold for; hypothesis shrinks on it."""

    def __init__(
        self,
        exchange: Exchange,
        failures: list[Failure],
        *,
        crash: str = "",
        hung: bool = False,
        reproduction: str = "",
    ) -> None:
        super().__init__(crash or (failures[0].title if failures else "falsified"))
        self.exchange = exchange
        self.failures = failures
        self.crash = crash
        self.hung = hung
        self.reproduction = reproduction


class _Recording:
    """An adapter wrapper that keeps what the calls returned and whether one raised."""

    def __init__(self, adapter: Adapter) -> None:
        self._adapter = adapter
        self.name = adapter.name
        self.capabilities = adapter.capabilities
        self.outcomes: list[Any] = []
        self.raised = False

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        try:
            outcome = self._adapter.call(method, params)
        except BaseException:
            self.raised = True
            raise
        self.outcomes.append(outcome)
        return outcome

    def close(self) -> None:
        closer = getattr(self._adapter, "close", None)
        if callable(closer):
            closer()


def _case(prop: ScriptedProperty, exchange: Exchange) -> Case:
    step = Step(
        method=exchange.method,
        params=exchange.params,
        responses=(exchange.answer,),
        expect=expectation_from(exchange.answer),
        requests=RequestCount(1, 1),
        timing=Timing(),
    )
    return Case(
        id=prop.id,
        description=prop.description,
        level=prop.level,
        source="server",
        contract=prop.contract,
        contract_checks=(),
        needs=frozenset(),
        modes=example_modes(),
        auth="webhook",
        steps=(step,),
        file="(generated)",
    )


@dataclass
class _Tally:
    examples: int = 0
    requests: int = 0


def _run_example(
    prop: ScriptedProperty,
    exchange: Exchange,
    factory: AdapterFactory,
    mode: str,
    deadline: float,
    rerun: str,
    tally: _Tally,
    transports: ExampleTransport | None = None,
) -> None:
    """Run one exchange as a Case; raise _Falsified when the property does not hold for it."""
    case = _case(prop, exchange)
    made: list[_Recording] = []

    def recording(target: Target) -> Adapter:
        made.append(_Recording(factory(target)))
        return made[-1]

    with (transports or example_transport(mode))(case) as transport:
        result = run_case(
            case, recording, mode, transport=transport, deadline=deadline, rerun=rerun
        )
    tally.examples += 1
    tally.requests += result.requests
    raised = bool(made) and made[0].raised
    if result.outcome in ("errored", "skipped") and not raised:
        raise _ExampleRunBroken(result.message)
    outcomes = made[0].outcomes if made and not raised else []
    failures = judge_example(prop, exchange, result, outcomes, mode)
    hung = any(f.check == "behaviour.deadline" for f in failures)
    if raised or failures:
        crash = result.message.splitlines()[0] if raised else ""
        raise _Falsified(
            exchange,
            failures,
            crash=crash,
            hung=hung,
            reproduction=result.render_reproduction(),
        )


def judge_example(
    prop: ScriptedProperty,
    exchange: Exchange,
    result: CaseResult,
    outcomes: list[Any],
    mode: str,
) -> list[Failure]:
    """Where one example falsifies its property: the failures of the engine checks the property
    names (and behaviour.deadline, always), then the property's own judge on the outcome."""
    failures = [f for f in result.failures if f.check in (*prop.checks, "behaviour.deadline")]
    hung = any(f.check == "behaviour.deadline" for f in failures)
    if prop.judge is not None and outcomes and not hung:
        failures += prop.judge(exchange, outcomes[0], f"case {prop.id} ({mode})")
    return failures


# ---------------------------------------------------------------------------------------------
# Running a property


def client_spec(factory: object) -> str:
    """The ``--client`` spec naming a factory: reference, miniature:NAME or module:attribute."""
    from conformance import reference, testing

    if factory is reference.factory or factory is reference.ReferenceClient:
        return "reference"
    for name, miniature in testing.MINIATURES.items():
        if factory is miniature:
            return f"miniature:{name}"
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        return f"{module}:{qualname}"
    return "<your client spec>"


def rerun_command(
    property_id: str, client: str, mode: str, seed_: int, profile: str = DEFAULT_PROFILE
) -> str:
    """The command that replays a property run exactly: its seed, and its profile unless the
    default (a seed fixes the draws, the profile how many there are)."""
    words = ["b24-conformance", "run", "--client", client, "--mode", mode, "--case", property_id]
    words += ["--seed", str(seed_)]
    if profile != DEFAULT_PROFILE:
        words += ["--hypothesis-profile", profile]
    return shlex.join(words)


def _search(
    prop: ScriptedProperty,
    test: Callable[[Exchange], None],
    options: settings,
    seed_: int,
) -> _Falsified | None:
    """One hypothesis run; the falsifying exception of the (minimal) failing example, if any."""
    run = hypothesis_seed(seed_)(settings(options)(given(exchange=prop.examples())(test)))
    try:
        with suite_constants_only():
            run()
    except _Falsified as falsified:
        return falsified
    except BaseExceptionGroup as group:  # hypothesis' FlakyFailure and friends
        found = _find(group, _Falsified)
        if found is None:
            harness = _find(group, _ExampleRunBroken)
            if harness is not None:
                raise harness from None
            raise
        return found
    return None


def _find(group: BaseExceptionGroup[Any], kind: type[_E]) -> _E | None:
    for inner in group.exceptions:
        if isinstance(inner, kind):
            return inner
        if isinstance(inner, BaseExceptionGroup):
            found = _find(inner, kind)
            if found is not None:
                return found
    return None


def run_property(
    property_id: str,
    factory: AdapterFactory,
    mode: str,
    *,
    seed: int | None = None,
    profile: str = DEFAULT_PROFILE,
    deadline: float = DEFAULT_DEADLINE,
    client: str | None = None,
    target: Target | None = None,
    shrink: bool = True,
) -> CaseResult:
    """Run one property against one client in one mode; never raises for client faults.

    ``seed`` makes the run reproducible (without one, ``ci`` derives a fixed seed from the
    property id and ``dev`` draws a fresh one; the message shows it). ``deadline`` bounds each
    client call. ``client`` is the spec the rerun command shows (derived from ``factory`` when
    omitted). ``target`` is the portal the stateful machine runs against (portal mode).
    ``shrink=False`` keeps the first falsifying example (a failure the baseline expects).
    """
    prop = property_by_id(property_id)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
    options = hypothesis_profile(profile)
    chosen = choose_seed(property_id, options, seed)
    rerun = rerun_command(prop.id, client or client_spec(factory), mode, chosen, profile)
    result = CaseResult(prop.id, mode, "passed", level=prop.level)
    if reason := mode_reason(mode, prop.modes, "property"):
        result.outcome, result.message = "skipped", reason
        return result
    if mode == "portal" and target is not None and target.ca_bundle is not None:
        rerun += " --tls"
    if isinstance(prop, MachineProperty):
        from conformance.machine import run_machine

        if target is None:
            raise ValueError(f"property {prop.id} runs against a portal: pass target=")
        return run_machine(
            factory,
            target,
            mode=mode,
            seed=chosen,
            profile=profile,
            deadline=deadline,
            rerun=rerun,
            shrink=shrink,
        )
    # An https portal for the examples when the run's is one (its target carries a CA bundle).
    https = mode == "portal" and target is not None and target.ca_bundle is not None
    transports = example_transport(mode, tls=https)
    return _run_scripted(
        prop, factory, mode, options, chosen, deadline, rerun, result, profile, transports, shrink
    )


def _run_scripted(
    prop: ScriptedProperty,
    factory: AdapterFactory,
    mode: str,
    options: settings,
    seed_: int,
    deadline: float,
    rerun: str,
    result: CaseResult,
    profile: str,
    transports: ExampleTransport | None = None,
    shrink: bool = True,
) -> CaseResult:
    started = time.monotonic()
    tally = _Tally()

    def example(exchange: Exchange) -> None:
        _run_example(prop, exchange, factory, mode, deadline, rerun, tally, transports)

    try:
        minimal, found_after, how = _falsify(prop, example, options, seed_, tally, shrink)
    except (_ExampleRunBroken, HypothesisException) as exc:
        result.outcome = "errored"
        result.message = f"the property run failed ({type(exc).__name__}): {exc}"
        result.duration = time.monotonic() - started
        return result
    result.requests = tally.requests
    result.duration = time.monotonic() - started
    about = f"seed {seed_}, hypothesis profile {profile}"
    if minimal is None:
        result.message = f"passed {found_after} generated examples ({about})"
        return result
    # Through the one verdict: an escaped exception errors the property, a failure fails it.
    conclude(result, minimal.failures, _as_shown, escaped=minimal.crash or None)
    result.reproduction = minimal.reproduction
    headline = minimal.crash or (minimal.failures[0].title if minimal.failures else "")
    result.message = "\n".join(
        [
            f"[{prop.id}] falsified: {headline}",
            f"  property: {prop.description}",
            f"  minimal example: {minimal.exchange.describe()}",
            *(failure.render() for failure in minimal.failures),
            f"  found after {found_after} examples in {mode} mode ({about}); {how}",
            "reproduce:",
            minimal.reproduction,
        ]
    )
    return result


def _falsify(
    prop: ScriptedProperty,
    example: Callable[[Exchange], None],
    options: settings,
    seed_: int,
    tally: _Tally,
    shrink: bool = True,
) -> tuple[_Falsified | None, int, str]:
    """The minimal falsifying example (or None), the examples run until the first, and how it
    was shrunk.

    Generation runs first without shrinking: a hung client would cost the full deadline on
    every shrinking attempt. Any other failure is found again with the same seed, then shrunk.
    """
    # The explain phase reruns the minimal example many times for notes nobody reads here.
    phases = [p for p in options.phases if p is not Phase.explain]
    searching = settings(
        options,
        phases=[p for p in phases if p is not Phase.shrink],
        database=None,
        report_multiple_bugs=False,
        deadline=None,
    )
    found = _first_failure(prop, example, searching, seed_, tally)
    found_after = tally.examples
    if found is None:
        return None, found_after, ""
    if found.hung:
        return found, found_after, "not shrunk: the client hung (each attempt waits the deadline)"
    if not shrink:
        return found, found_after, NOT_SHRUNK_EXPECTED
    if Phase.shrink not in phases:
        return found, found_after, "not shrunk: the profile has no shrinking phase"
    minimal = _search(prop, example, settings(searching, phases=phases), seed_)
    if minimal is None:
        return found, found_after, "not shrunk: the failure did not happen again (flaky client?)"
    return minimal, found_after, f"shrunk with the same seed ({tally.examples} examples in all)"


def _first_failure(
    prop: ScriptedProperty,
    example: Callable[[Exchange], None],
    searching: settings,
    seed_: int,
    tally: _Tally,
) -> _Falsified | None:
    """The first falsifying example of a search without shrinking, or None; examples that
    held for this seed and settings before are replayed instead of drawn (``held.HELD``)."""
    key = (prop.id, seed_, repr(searching))
    if key in held.HELD and held.every_one_holds(held.HELD[key], example):
        return None
    tally.examples = tally.requests = 0  # a replay that failed counts for nothing
    drawn: list[tuple[Exchange, bool]] = []
    found = _search(prop, held.drawing(example, drawn), searching, seed_)
    if found is None and all(kept for _, kept in drawn):  # none rejected (replay), none broke
        held.hold(key, tuple(exchange for exchange, _ in drawn))
    return found


def _as_shown(text: str) -> str:
    # The examples ran through run_case, which redacted every failure already.
    return text
