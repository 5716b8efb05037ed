"""Modes agree byte for byte: for every case, stub, replay and portal serve the client the same
status, the same headers that matter and the same body bytes (DESIGN.md 6a).

A recording client POSTs each step's params as often as the step scripts answers, follows
nothing, and keeps what it got; the same case in every mode must give the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from conformance.api import CAPABILITIES, Success, Target, TransportFailure
from conformance.case import Case, all_cases
from tests.fixtures.common import run_in_mode

#: Headers a client's parsing depends on; Location is compared by path and query (the portal
#: serves its own loopback address where a cassette names the offline host).
HEADERS_THAT_MATTER = ("content-type", "location")


@dataclass
class Seen:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """A client that only records what reaches it: one plain POST per scripted answer."""

    target: Target
    answers_per_step: list[int]
    seen: list[Seen] = field(default_factory=list)
    name: str = "recorder"
    capabilities: frozenset[str] = frozenset(CAPABILITIES)
    _calls: int = 0

    def call(self, method: str, params: Mapping[str, Any]) -> Any:
        count = self.answers_per_step[self._calls]
        self._calls += 1
        headers = {"Content-Type": "application/json"}
        if self.target.auth_token:
            url = f"{self.target.oauth_url}{method}.json"
            headers["Authorization"] = f"Bearer {self.target.auth_token}"
        else:
            url = f"{self.target.base_url}{method}.json"
        for _ in range(count):
            answer = requests.post(
                url,
                json=dict(params),
                headers=headers,
                allow_redirects=False,
                timeout=self.target.timeout,
                verify=self.target.ca_bundle or True,
            )
            kept = {k.lower(): v for k, v in answer.headers.items()}
            self.seen.append(
                Seen(
                    answer.status_code,
                    {
                        name: _comparable(name, kept[name])
                        for name in HEADERS_THAT_MATTER
                        if name in kept
                    },
                    answer.content,
                )
            )
        return Success(None) if count else TransportFailure("connection")


def _comparable(name: str, value: str) -> str:
    if name != "location":
        return value
    parts = urlsplit(value)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _served_cases() -> list[Case]:
    return [
        case
        for case in all_cases()
        if not case.stateful
        and len(case.modes) > 1
        and not any(r.fault for s in case.steps for r in s.responses)
    ]


def _record(case: Case, mode: str) -> list[Seen]:
    made: list[Recorder] = []

    def factory(target: Target) -> Recorder:
        made.append(Recorder(target, [len(step.responses) for step in case.steps]))
        return made[-1]

    # One planted secret for every mode: it shows in the Location of webhook redirects.
    run_in_mode(case, factory, mode, deadline=5.0, canaries=("5ec7e75ec7e75ec7", "tok-bytes"))
    assert made, f"case {case.id} ({mode}): the recorder was never made"
    return made[-1].seen


@pytest.mark.parametrize("case", _served_cases(), ids=lambda case: case.id)
def test_every_mode_serves_the_same_bytes(case: Case) -> None:
    records = {mode: _record(case, mode) for mode in case.modes}
    first_mode, first = next(iter(records.items()))
    assert len(first) == sum(len(step.responses) for step in case.steps), (first_mode, first)
    for mode, seen in records.items():
        for number, (ours, theirs) in enumerate(zip(first, seen, strict=True), 1):
            where = f"case {case.id}, answer {number}: {first_mode} vs {mode}"
            assert ours.status == theirs.status, where
            assert ours.headers == theirs.headers, where
            if not case.uses_clock:  # $now renders the serving second
                assert ours.body == theirs.body, where
