"""Properties: hypothesis-generated exchanges run through the same adapters, transports and
named checks as the fixed cases; each property has a stable id (docs/properties.md).

``profiles`` holds the hypothesis profiles and seeds, ``exchanges`` the generated examples and
the transport each mode serves them through, ``definitions`` the properties and their own
judgements, ``runner`` the runs. Everything public is importable from here.
"""

from __future__ import annotations

from conformance.properties.definitions import (
    BADGE_REGISTRY,
    ERROR_MAPPING,
    GARBAGE_RESISTANCE,
    PARSE_ROUND_TRIP,
    PROPERTIES,
    REQUEST_FIDELITY,
    Judge,
    MachineProperty,
    Property,
    ScriptedProperty,
    describe_outcome,
    judge_garbage_resistance,
    property_by_id,
)
from conformance.properties.exchanges import (
    GARBAGE_CONTENT_TYPES,
    GARBAGE_STATUSES,
    SAMPLE_TIME,
    ExampleTransport,
    Exchange,
    error_exchanges,
    example_modes,
    example_transport,
    fidelity_exchanges,
    garbage_exchanges,
    success_exchanges,
)
from conformance.properties.profiles import (
    DEFAULT_PROFILE,
    HYPOTHESIS_PROFILES,
    MACHINE_BUDGET,
    NOT_SHRUNK_EXPECTED,
    choose_seed,
    hypothesis_profile,
    register_profiles,
)
from conformance.properties.runner import client_spec, judge_example, rerun_command, run_property

__all__ = [
    "BADGE_REGISTRY",
    "DEFAULT_PROFILE",
    "ERROR_MAPPING",
    "GARBAGE_CONTENT_TYPES",
    "GARBAGE_RESISTANCE",
    "GARBAGE_STATUSES",
    "HYPOTHESIS_PROFILES",
    "MACHINE_BUDGET",
    "NOT_SHRUNK_EXPECTED",
    "PARSE_ROUND_TRIP",
    "PROPERTIES",
    "REQUEST_FIDELITY",
    "SAMPLE_TIME",
    "ExampleTransport",
    "Exchange",
    "Judge",
    "MachineProperty",
    "Property",
    "ScriptedProperty",
    "choose_seed",
    "client_spec",
    "describe_outcome",
    "error_exchanges",
    "example_modes",
    "example_transport",
    "fidelity_exchanges",
    "garbage_exchanges",
    "hypothesis_profile",
    "judge_example",
    "judge_garbage_resistance",
    "property_by_id",
    "register_profiles",
    "rerun_command",
    "run_property",
    "success_exchanges",
]
