"""A generated example replays from a cassette document held in memory: vcrpy hands the client
the same interactions as from the cassette's YAML text, for every kind of generated answer."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from conformance.cassettes import cassette_text, memory_document
from conformance.properties import PROPERTIES
from conformance.properties.definitions import ScriptedProperty
from conformance.properties.exchanges import Exchange
from conformance.properties.runner import _case
from conformance.transports import IN_MEMORY

SCRIPTED = [prop for prop in PROPERTIES.values() if isinstance(prop, ScriptedProperty)]


def _played(loaded: Any) -> list[tuple[Any, Any]]:
    requests, responses = loaded[0], loaded[1]
    return [(r._to_dict(), response) for r, response in zip(requests, responses, strict=True)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_memory_document_replays_what_the_yaml_text_replays(data: st.DataObject) -> None:
    prop = data.draw(st.sampled_from(SCRIPTED))
    exchange: Exchange = data.draw(prop.examples())
    case = _case(prop, exchange)
    from_text = deserialize(cassette_text(case), yamlserializer)
    from_memory = deserialize(memory_document(case), IN_MEMORY)
    assert _played(from_memory) == _played(from_text)
