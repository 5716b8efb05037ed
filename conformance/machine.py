"""The badge registry as a hypothesis state machine (property ``property.badge-registry``).

Rules add, get, list, delete, add a taken code, and get or delete what is gone, through an
adapter against a portal: the fake portal (``conformance.portal``) or, with the ``live``
profile, a real one. A model of the registry says what each answer must be.

Badges are global to a portal, so every machine run works under its own unique code prefix,
numbers its codes (two codes never meet under MySQL's case- and trailing-space-insensitive
collation) and deletes what it created when it ends. On a live portal nothing is shrunk: a
replayed add no longer behaves the same.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from hypothesis import Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    rule,
    run_state_machine_as_test,
)

from conformance import schemas
from conformance import strategies as gen
from conformance.api import (
    Adapter,
    AdapterFactory,
    ApiError,
    Outcome,
    Redactor,
    Success,
    Target,
)
from conformance.properties.constants import suite_constants_only
from conformance.properties.definitions import BADGE_REGISTRY
from conformance.properties.profiles import (
    MACHINE_BUDGET,
    NOT_SHRUNK_EXPECTED,
    choose_seed,
    hypothesis_profile,
)
from conformance.properties.registry_model import (
    judge_error,
    judge_success,
    judge_total,
    listed_badges,
)
from conformance.results import (
    DEFAULT_DEADLINE,
    CaseResult,
    Failure,
    call_with_deadline,
    conclude,
)

__all__ = ["DEFAULT_PREFIX", "LIVE_LANGUAGES", "badge_registry_machine", "run_machine"]

PROPERTY_ID: Final = BADGE_REGISTRY
#: What every code a machine creates starts with; a run adds its own random part.
DEFAULT_PREFIX: Final = "b24c-"
#: Map keys used on a live portal, whose installed languages are unknown.
LIVE_LANGUAGES: Final = ("en",)
#: Seconds between calls on a live portal, which allows about two requests a second.
LIVE_PACE: Final = 0.5
#: Calls refused with QUERY_LIMIT_EXCEEDED are made again this often (rate limits are the
#: retry.* cases' concern, not the registry's).
RATE_LIMIT_RETRIES: Final = 5

_ADD, _GET, _LIST, _DELETE = schemas.METHODS


class Mismatch(AssertionError):
    """A portal answer the model of the registry does not allow."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.render())
        self.failure = failure


class Hung(Mismatch):
    """The adapter's call gave no outcome within the deadline."""


class Crash(Exception):
    """An exception escaped the adapter's call."""


class _RegistryMachine(RuleBasedStateMachine):
    """Shared state and checks; ``badge_registry_machine`` adds the rules and the settings."""

    factory: ClassVar[AdapterFactory]
    target: ClassVar[Target]
    prefix: ClassVar[str]
    deadline: ClassVar[float]
    pace: ClassVar[float]
    #: Also list the portal at the end and delete whatever carries this run's prefix.
    sweep: ClassVar[bool]

    def __init__(self) -> None:
        super().__init__()
        self.adapter: Adapter = type(self).factory(type(self).target)
        self.capabilities = frozenset(self.adapter.capabilities)
        # Unique per attempt: shrinking and replays never meet an earlier attempt's badges.
        self.run_prefix = f"{self.prefix}{secrets.token_hex(4)}-"
        self.numbers = itertools.count(1)
        self.model: dict[str, dict[str, Any]] = {}
        self.created: set[str] = set()
        self.calls = 0

    # --- calling -----------------------------------------------------------------------------

    def fresh_code(self, suffix: str) -> str:
        """A code no one has used: prefix, run, a number, then the generated part."""
        return f"{self.run_prefix}{next(self.numbers)}-{suffix}"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        """The adapter's outcome; a rate-limit refusal (the portal did nothing) is waited out."""
        for attempt in range(RATE_LIMIT_RETRIES):
            outcome = self._call_once(method, params)
            if not (isinstance(outcome, ApiError) and outcome.code == "QUERY_LIMIT_EXCEEDED"):
                break
            time.sleep(1.0 + attempt)
        return outcome

    def _call_once(self, method: str, params: Mapping[str, Any]) -> Outcome:
        if self.pace and self.calls:
            time.sleep(self.pace)
        self.calls += 1
        arguments = copy.deepcopy(dict(params))
        call = call_with_deadline(lambda: self.adapter.call(method, arguments), self.deadline)
        if call.hung:
            raise Hung(
                Failure(
                    "behaviour.deadline",
                    "the call did not return within the deadline",
                    f"an outcome within {self.deadline:.1f}s",
                    f"no outcome of {method} after {self.deadline:.1f}s",
                    f"property {PROPERTY_ID}",
                    "set a timeout on every request and bound every retry loop",
                )
            )
        if call.exception is not None:
            raise Crash(call.exception.strip().splitlines()[-1])
        outcome: Outcome = call.value  # type: ignore[assignment]
        return outcome

    # --- judging -----------------------------------------------------------------------------

    def expect_success(self, fact: str, outcome: Outcome, result: Any) -> None:
        if failure := judge_success(fact, outcome, result):
            raise Mismatch(failure)

    def expect_error(self, fact: str, outcome: Outcome, code: str, status: int = 400) -> None:
        if failure := judge_error(fact, outcome, code, status, self.capabilities):
            raise Mismatch(failure)

    # --- ending ------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Delete every badge this run created, whatever happened (best effort)."""
        leftovers = set(self.model) | self.created
        if self.sweep:
            try:
                for badge in listed_badges(self.call(_LIST, {})):
                    code = badge.get("code")
                    if isinstance(code, str) and code.startswith(self.run_prefix):
                        leftovers.add(code)
            except Exception:  # noqa: S110 - cleanup goes on with what the model knows
                pass
        for code in sorted(leftovers):
            try:
                self.call(_DELETE, {"code": code})
            except Exception:  # noqa: S112 - one failed delete must not stop the others
                continue
        closer = getattr(self.adapter, "close", None)
        if callable(closer):
            with contextlib.suppress(Exception):  # closing is best effort
                closer()


def badge_registry_machine(
    factory: AdapterFactory,
    target: Target,
    *,
    prefix: str = DEFAULT_PREFIX,
    live: bool = False,
    languages: Sequence[str] | None = None,
    codes: st.SearchStrategy[str] | None = None,
    deadline: float = DEFAULT_DEADLINE,
    pace: float | None = None,
) -> type[RuleBasedStateMachine]:
    """A state machine class bound to a client and a portal.

    ``live`` narrows the generated data to what any portal accepts (identifier codes, ``en``
    maps) and paces the calls; ``languages`` and ``codes`` override the map keys and the
    generated part of the codes. Run it with ``run_machine`` or ``Machine.TestCase``.
    """
    if languages is None:
        languages = LIVE_LANGUAGES if live else gen.PORTAL_LANGUAGES
    suffixes = codes if codes is not None else gen.identifiers() if live else gen.badge_codes()
    texts = gen.titles(languages=languages)
    types = gen.badge_types()

    class BadgeRegistry(_RegistryMachine):
        """The badge registry of one portal against its model."""

        live_badges = Bundle("live_badges")
        deleted = Bundle("deleted")

        @rule(target=live_badges, suffix=suffixes, title=texts, value=texts, kind=types)
        def add(self, suffix: str, title: Any, value: Any, kind: str) -> str:
            code = self.fresh_code(suffix)
            badge = {"code": code, "title": title, "value": value, "type": kind}
            self.created.add(code)
            outcome = self.call(_ADD, badge)
            self.expect_success(
                "add of a new code answers the badge as sent", outcome, {"badge": badge}
            )
            self.model[code] = badge
            return code

        @rule(code=live_badges, title=texts, value=texts, kind=types)
        def add_taken_code(self, code: str, title: Any, value: Any, kind: str) -> None:
            outcome = self.call(_ADD, {"code": code, "title": title, "value": value, "type": kind})
            self.expect_error(
                "add of a taken code is BX_INVALID_VALUE", outcome, "BX_INVALID_VALUE"
            )

        @rule(code=live_badges)
        def get(self, code: str) -> None:
            outcome = self.call(_GET, {"code": code})
            self.expect_success(
                "get answers the badge as added", outcome, {"badge": self.model[code]}
            )

        @rule(suffix=suffixes)
        def get_unknown(self, suffix: str) -> None:
            outcome = self.call(_GET, {"code": self.fresh_code(suffix)})
            self.expect_error("get of an unknown code is NOT_FOUND", outcome, "NOT_FOUND")

        @rule()
        def list_badges(self) -> None:
            outcome = self.call(_LIST, {})
            ours = [
                badge
                for badge in listed_badges(outcome)
                if str(badge.get("code", "")).startswith(self.run_prefix)
            ]
            wanted = sorted(self.model.values(), key=lambda badge: str(badge["code"]))
            listed = sorted(ours, key=lambda badge: str(badge.get("code")))
            self.expect_success(
                "list shows exactly the badges added and not deleted",
                Success({"badges": listed}) if isinstance(outcome, Success) else outcome,
                {"badges": wanted},
            )
            if failure := judge_total(outcome, self.capabilities):
                raise Mismatch(failure)

        @rule(target=deleted, code=consumes(live_badges))
        def delete(self, code: str) -> str:
            outcome = self.call(_DELETE, {"code": code})
            self.expect_success("delete of a badge answers true", outcome, True)
            del self.model[code]
            return code

        @rule(code=deleted)
        def get_deleted(self, code: str) -> None:
            outcome = self.call(_GET, {"code": code})
            self.expect_error("get of a deleted code is NOT_FOUND", outcome, "NOT_FOUND")

        @rule(code=deleted)
        def delete_again(self, code: str) -> None:
            outcome = self.call(_DELETE, {"code": code})
            self.expect_error("a second delete of a code is NOT_FOUND", outcome, "NOT_FOUND")

        @rule(target=live_badges, code=consumes(deleted), title=texts, value=texts, kind=types)
        def add_deleted_code(self, code: str, title: Any, value: Any, kind: str) -> str:
            badge = {"code": code, "title": title, "value": value, "type": kind}
            outcome = self.call(_ADD, badge)
            self.expect_success("add of a deleted code succeeds again", outcome, {"badge": badge})
            self.model[code] = badge
            return code

    BadgeRegistry.factory = staticmethod(factory)
    BadgeRegistry.target = target
    BadgeRegistry.prefix = prefix
    BadgeRegistry.deadline = deadline
    BadgeRegistry.pace = (LIVE_PACE if live else 0.0) if pace is None else pace
    BadgeRegistry.sweep = live
    return BadgeRegistry


def run_machine(
    factory: AdapterFactory,
    target: Target,
    *,
    mode: str = "portal",
    seed: int | None = None,
    profile: str = "ci",
    deadline: float = DEFAULT_DEADLINE,
    rerun: str = "",
    prefix: str = DEFAULT_PREFIX,
    live: bool | None = None,
    languages: Sequence[str] | None = None,
    pace: float | None = None,
    shrink: bool = True,
) -> CaseResult:
    """Run the machine against ``target``; a CaseResult with the minimal steps on failure.

    ``live`` defaults to ``profile == "live"``; ``pace`` (seconds between calls) defaults to
    LIVE_PACE when live; ``shrink=False`` keeps the first falsifying run (an expected
    failure). Never raises for client faults.
    """
    options = hypothesis_profile(profile)
    chosen = choose_seed(PROPERTY_ID, options, seed)
    is_live = profile == "live" if live is None else live
    examples, steps = MACHINE_BUDGET.get(profile, (options.max_examples, 20))
    machine = badge_registry_machine(
        factory,
        target,
        prefix=prefix,
        live=is_live,
        languages=languages,
        deadline=deadline,
        pace=pace,
    )
    phases = [p for p in options.phases if p is not Phase.explain]
    if is_live or not shrink:
        phases = [p for p in phases if p is not Phase.shrink]
    machine_settings = settings(
        options,
        max_examples=examples,
        stateful_step_count=steps,
        phases=phases,
        database=None,
        report_multiple_bugs=False,
        deadline=None,
    )
    redact = Redactor(target.secrets)
    result = CaseResult(PROPERTY_ID, mode, "passed")
    started = time.monotonic()
    about = f"seed {chosen}, hypothesis profile {profile}"
    try:
        with suite_constants_only():
            run_state_machine_as_test(  # type: ignore[no-untyped-call,unused-ignore]
                _seeded(machine, chosen), settings=machine_settings
            )
    except Exception as exc:
        found = _falsifying(exc)
        if found is None:
            result.outcome = "errored"
            result.message = redact(f"the machine could not run ({type(exc).__name__}): {exc}")
        else:
            if not shrink:
                shrunk = NOT_SHRUNK_EXPECTED
            elif Phase.shrink in phases:
                shrunk = "shrunk"
            else:
                shrunk = "not shrunk: no shrinking phase"
            about = f"{about}; codes start with {prefix}"
            _report(result, found, shrunk, mode, about, rerun, redact)
            result.message = redact(result.message)
            result.reproduction = redact(result.reproduction)
    else:
        result.message = f"passed {examples} generated runs of up to {steps} steps ({about})"
    result.duration = time.monotonic() - started
    return result


def _falsifying(exc: BaseException) -> Mismatch | Crash | None:
    """The machine's own exception, also from inside hypothesis' exception groups."""
    if isinstance(exc, Mismatch | Crash):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _falsifying(inner)
            if found is not None:
                return found
    return None


def _report(
    result: CaseResult,
    exc: Mismatch | Crash,
    shrunk: str,
    mode: str,
    about: str,
    rerun: str,
    redact: Redactor,
) -> None:
    # Through the one verdict: a model mismatch fails the property, a crash errors it.
    if isinstance(exc, Mismatch):
        conclude(result, [exc.failure], redact)
        headline, body = exc.failure.title, exc.failure.render()
    else:
        conclude(result, [], redact, escaped=str(exc))
        headline, body = f"an exception escaped the adapter: {exc}", ""
    lines = [
        f"[{PROPERTY_ID}] falsified: {headline}",
        f"  minimal steps ({shrunk}):",
        *(f"    {line}" for line in _steps(exc)),
    ]
    if body:
        lines.append(body)
    lines.append(f"  {mode} mode ({about})")
    result.reproduction = f"# rerun just this property: {rerun}" if rerun else ""
    if rerun:
        lines += ["reproduce:", result.reproduction]
    result.message = "\n".join(lines)


def _seeded(machine: type[RuleBasedStateMachine], chosen: int) -> type[RuleBasedStateMachine]:
    seeded: type[RuleBasedStateMachine] = hypothesis_seed(chosen)(machine)
    return seeded


def _steps(exc: BaseException) -> list[str]:
    notes = getattr(exc, "__notes__", [])
    return [
        note.strip()
        for note in notes
        if not note.lstrip().startswith(("You can reproduce", "Failing test case"))
    ]
