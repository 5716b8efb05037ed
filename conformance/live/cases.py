"""What a live run executes: the read-only probes (conformance/cases/live/probes.yaml) and, with
``--allow-writes``, the stateful cases (conformance/cases/state.yaml), every badge code
rewritten to the run's prefix ``b24ct-<run id>-``.

A live portal holds other people's badges, so a list step cannot expect an exact answer: it
expects the case's own badges among the listed ones (check ``outcome.own-badges``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any, Final, cast

from conformance import _data, schemas
from conformance.case import Case, Expectation, RequestCount, Step, all_cases, load_case_file

ADD, GET, LIST, DELETE = schemas.METHODS

#: Every code a live run creates starts with this; ``sweep`` refuses any other prefix.
CODE_PREFIX: Final = "b24ct-"
PROBES_FILE: Final = "live/probes.yaml"
#: Probes that call with deliberately wrong credentials, by the auth they test.
WRONG_CREDENTIALS: Final[Mapping[str, str]] = {
    "live.wrong-secret": "webhook",
    "live.wrong-token": "oauth",
}
#: Stand-ins for those probes: obviously not anybody's secret or token.
WRONG_SECRET: Final = "b24ctnotasecret0"  # noqa: S105 - deliberately wrong, and public
WRONG_TOKEN: Final = "b24ct-not-a-token"  # noqa: S105 - deliberately wrong, and public
#: Requests one live step may make: a shared portal can answer QUERY_LIMIT_EXCEEDED to a
#: client that then retries, which is no fault of the portal's.
LIVE_ATTEMPTS: Final = 5


def run_prefix(run_id: str) -> str:
    return f"{CODE_PREFIX}{run_id}-"


@dataclass(frozen=True)
class LiveCase(Case):
    """A case rewritten for a live portal: its codes under a prefix, list steps judged on the
    case's own badges only."""

    prefix: str = ""
    #: the case's codes after rewriting
    codes: frozenset[str] = frozenset()
    #: step index -> the badges of this case a list step must show (in any order)
    own_badges: Mapping[int, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        """Adds or deletes badges: needs --allow-writes and a CRM administrator."""
        return any(step.method in (ADD, DELETE) for step in self.steps)


@cache
def probe_cases() -> tuple[Case, ...]:
    return tuple(load_case_file(_data.cases_dir() / PROBES_FILE))


def write_cases() -> tuple[Case, ...]:
    """The stateful cases: steps without scripted answers, explicit expectations."""
    return tuple(case for case in all_cases() if case.stateful)


def live_case_ids() -> tuple[str, ...]:
    return tuple(c.id for c in (*probe_cases(), *write_cases()))


def _rewrite(value: Any, codes: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: codes[item]
            if key == "code" and isinstance(item, str) and item in codes
            else _rewrite(item, codes)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item, codes) for item in value]
    return value


def as_live(case: Case, prefix: str, *, auth: str, modes: tuple[str, ...]) -> LiveCase:
    """``case`` with its codes under ``prefix``, run with ``auth`` in ``modes``."""
    originals = {
        step.params["code"]
        for step in case.steps
        if isinstance(step.params.get("code"), str) and step.params["code"]
    }
    codes = {code: prefix + code for code in sorted(originals)}
    steps: list[Step] = []
    own: dict[int, tuple[Any, ...]] = {}
    for index, step in enumerate(case.steps):
        expect = step.expect
        if expect.has_result:
            expect = replace(expect, result=_rewrite(expect.result, codes))
        if step.method == LIST and expect.outcome == "success" and expect.has_result:
            listed = expect.result.get("badges") if isinstance(expect.result, dict) else None
            own[index] = tuple(listed or ())
            expect = Expectation("success", status=expect.status)
        steps.append(
            replace(
                step,
                params=_rewrite(dict(step.params), codes),
                expect=expect,
                requests=RequestCount(1, max(LIVE_ATTEMPTS, step.requests.maximum)),
            )
        )
    values = {f.name: getattr(case, f.name) for f in fields(Case)}
    values.update(steps=tuple(steps), modes=modes, auth=auth)
    return LiveCase(**values, prefix=prefix, codes=frozenset(codes.values()), own_badges=own)


def live_cases(prefix: str, auth: str, modes: tuple[str, ...] = ("live",)) -> list[LiveCase]:
    """The probes for ``auth`` (webhook or oauth), then the write cases, under ``prefix``."""
    probes = [case for case in probe_cases() if WRONG_CREDENTIALS.get(case.id, auth) == auth]
    return [as_live(case, prefix, auth=auth, modes=modes) for case in (*probes, *write_cases())]


def live_case(case_id: str, prefix: str, auth: str, modes: tuple[str, ...]) -> LiveCase:
    for case in (*probe_cases(), *write_cases()):
        if case.id == case_id:
            return as_live(case, prefix, auth=auth, modes=modes)
    raise KeyError(case_id)


def live_modes(*modes: str) -> tuple[Any, ...]:
    """Modes for a LiveCase (``live`` is no catalogue mode, so the Literal type is widened)."""
    return cast(tuple[Any, ...], modes)
