"""A generated example replays from a cassette document held in memory: vcrpy hands the client
the same interactions as from the cassette's YAML text, for every kind of generated answer."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from conformance import reference, transports
from conformance.case import case_by_id
from conformance.cassettes import cassette_text, memory_document
from conformance.engine import run_case
from conformance.properties import PROPERTIES
from conformance.properties.definitions import ScriptedProperty
from conformance.properties.exchanges import Exchange
from conformance.properties.runner import _case
from conformance.transports import IN_MEMORY, ReplayTransport

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


def test_replay_searches_for_an_http_client_that_is_not_installed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """vcrpy tries every client it can patch on each cassette; one that is not installed (no
    distribution is named httpx2) is looked for along the import path once, not per case."""
    monkeypatch.delitem(sys.modules, "httpx2", raising=False)
    transports._remember_absent_clients.cache_clear()
    searched: list[str] = []
    find_spec = importlib.machinery.PathFinder.find_spec

    def looking(name: str, path: Any = None, target: Any = None) -> Any:
        searched.append(name)
        return find_spec(name, path, target)

    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", looking)
    for _ in range(3):
        result = run_case(
            case_by_id("get.not-found"), reference.factory, "replay", ReplayTransport()
        )
        assert result.outcome == "passed", result.message
    assert searched.count("httpx2") == 1, searched
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("httpx2")
