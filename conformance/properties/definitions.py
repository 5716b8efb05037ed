"""What each property is: its id, the fact it states, its examples and how it is judged."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

from conformance.api import ApiError, Success, TransportFailure
from conformance.properties.exchanges import (
    Exchange,
    clip,
    error_exchanges,
    example_modes,
    fidelity_exchanges,
    garbage_exchanges,
    success_exchanges,
)
from conformance.results import Failure

__all__ = [
    "BADGE_REGISTRY",
    "ERROR_MAPPING",
    "GARBAGE_RESISTANCE",
    "PARSE_ROUND_TRIP",
    "PROPERTIES",
    "REQUEST_FIDELITY",
    "Judge",
    "MachineProperty",
    "Property",
    "ScriptedProperty",
    "describe_outcome",
    "judge_garbage_resistance",
    "property_by_id",
]

#: A property's own judgement of one example beside the engine checks:
#: (exchange, what the adapter returned, where) -> failures.
Judge = Callable[[Exchange, Any, str], Iterable[Failure]]


@dataclass(frozen=True)
class ScriptedProperty:
    """A property over scripted exchanges: any transport that serves a Case can express it."""

    id: str
    description: str
    examples: Callable[[], st.SearchStrategy[Exchange]]
    #: Engine checks whose failures falsify the property (behaviour.deadline always does).
    checks: tuple[str, ...]
    contract: tuple[str, ...]
    judge: Judge | None = None
    level: str = "must"

    @property
    def modes(self) -> tuple[str, ...]:
        return example_modes()


@dataclass(frozen=True)
class MachineProperty:
    """A stateful property: a rule-based machine against a portal (conformance.machine)."""

    id: str
    description: str
    contract: tuple[str, ...]
    level: str = "must"
    modes: tuple[str, ...] = ("portal",)


Property = ScriptedProperty | MachineProperty


def describe_outcome(outcome: object) -> str:
    """An outcome as a failure's ``actual`` shows it, the result clipped."""
    if isinstance(outcome, Success):
        return f"Success(result={clip(json.dumps(outcome.result, default=str), 120)})"
    if isinstance(outcome, ApiError):
        return f"ApiError(code={outcome.code!r}, status={outcome.status})"
    if isinstance(outcome, TransportFailure):
        return f"TransportFailure(kind={outcome.kind!r}, status={outcome.status})"
    return f"not an outcome: {type(outcome).__name__}"


REQUEST_FIDELITY: Final = "property.request-fidelity"
PARSE_ROUND_TRIP: Final = "property.parse-round-trip"
ERROR_MAPPING: Final = "property.error-mapping"
GARBAGE_RESISTANCE: Final = "property.garbage-resistance"
BADGE_REGISTRY: Final = "property.badge-registry"


def judge_garbage_resistance(exchange: Exchange, outcome: Any, where: str) -> Iterator[Failure]:
    """A body that is no envelope must come back as a transport failure or an API error."""
    if isinstance(outcome, TransportFailure | ApiError):
        return
    yield Failure(
        GARBAGE_RESISTANCE,
        "a body that is no envelope was taken for a success"
        if isinstance(outcome, Success)
        else "the client returned something that is not an outcome",
        "TransportFailure (non-json, empty-body, bad-envelope) or ApiError",
        describe_outcome(outcome),
        where,
        "parse defensively: only a JSON object with result (and no error) is a success",
    )


#: Every property by its stable id.
PROPERTIES: Final[dict[str, Property]] = {
    REQUEST_FIDELITY: ScriptedProperty(
        REQUEST_FIDELITY,
        "what the client sends decodes, as the portal decodes it, to the generated params",
        fidelity_exchanges,
        checks=("requests.params",),
        contract=("1.1", "3.2"),
    ),
    PARSE_ROUND_TRIP: ScriptedProperty(
        PARSE_ROUND_TRIP,
        "a generated success envelope comes back as a Success with the envelope's result",
        success_exchanges,
        checks=("outcome.kind", "outcome.payload"),
        contract=("1.1", "2.1", "2.3"),
    ),
    ERROR_MAPPING: ScriptedProperty(
        ERROR_MAPPING,
        "a generated error envelope comes back as an ApiError with its code and status",
        error_exchanges,
        checks=("outcome.kind", "outcome.code", "outcome.status"),
        contract=("2.2", "2.4"),
    ),
    GARBAGE_RESISTANCE: ScriptedProperty(
        GARBAGE_RESISTANCE,
        "a body that is no envelope is a transport failure or an API error, in time, never a crash",
        garbage_exchanges,
        checks=(),
        judge=judge_garbage_resistance,
        contract=("3.2",),
    ),
    BADGE_REGISTRY: MachineProperty(
        BADGE_REGISTRY,
        "add, get, list, delete and duplicate add agree with a model of the badge registry",
        contract=("1.1", "1.2", "1.3", "1.4"),
    ),
}


def property_by_id(property_id: str) -> Property:
    """The property with this id; an unknown id is a ValueError listing the known ones."""
    try:
        return PROPERTIES[property_id]
    except KeyError:
        raise ValueError(
            f"unknown property {property_id!r}: expected one of {', '.join(PROPERTIES)}"
        ) from None
