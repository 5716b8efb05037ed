"""Offline transports: the same scripted portal answers served through ``responses`` (stub)
or vcrpy cassettes (replay), with every request the client makes recorded for the checks."""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

# vcrpy through conformance._vcr first: it leaves out the HTTP libraries no client loaded.
from conformance import _vcr

# isort: split
import requests
import responses
import vcr
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.serialize import deserialize

from conformance import _data
from conformance.api import Target
from conformance.case import Case, ScriptedResponse
from conformance.wire import split_method

#: The host offline targets use; ``.invalid`` can never resolve, so nothing leaves the machine.
OFFLINE_HOST: Final = "portal.b24-conformance.invalid"

#: Extra answers past the script before the transport starts dropping connections.
STORM_ALLOWANCE: Final = 10

#: Stand where a run's webhook secret or token goes in cassettes and scripted headers
#: (a Location after a portal move); each run substitutes its own planted values.
SECRET_PLACEHOLDER: Final = "WEBHOOK_SECRET"  # noqa: S105 - a placeholder, not a secret
TOKEN_PLACEHOLDER: Final = "ACCESS_TOKEN"  # noqa: S105 - a placeholder, not a secret


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the client put it on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    at: float
    wall: float
    step: int


@dataclass
class Script:
    """The scripted answers of a case, step by step; records what the client sends."""

    case: Case
    #: placeholder -> value, applied to scripted header values (see SECRET_PLACEHOLDER).
    substitutions: dict[str, str] = field(default_factory=dict)
    step: int = -1
    requests: list[RecordedRequest] = field(default_factory=list)
    #: Set when the case ends: releases a client stalled on a scripted timeout.
    closed: threading.Event = field(default_factory=threading.Event)
    #: (step, wall-clock time, the JSON body as served) for every JSON answer rendered here.
    served: list[tuple[int, float, Any]] = field(default_factory=list)
    _served: int = 0

    def begin_step(self, index: int) -> None:
        self.step = index
        self._served = 0

    def record(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        self.requests.append(
            RecordedRequest(method, url, headers, body, time.monotonic(), time.time(), self.step)
        )

    def render(self, scripted: ScriptedResponse) -> tuple[int, dict[str, str], bytes]:
        """Render an answer now ($now resolves to this moment) and remember what was served."""
        now = time.time()
        status, headers, body = scripted.render(now)
        for name, value in headers.items():
            substituted = value
            for placeholder, real in self.substitutions.items():
                substituted = substituted.replace(placeholder, real)
            headers[name] = substituted
        if scripted.has_body:
            self.served.append((self.step, now, json.loads(body)))
        return status, headers, body

    def next_answer(self, url: str = "") -> ScriptedResponse:
        """The next scripted answer; past the end the last repeats, then connections drop.

        A request to a method the step ``reads`` (a get checking what an unanswered add did)
        gets that answer instead, and leaves the step's own answers where they were.
        """
        step = self.case.steps[self.step]
        if step.reads and url:
            read = step.reads.get(api_method_of(url))
            if read is not None:
                return read
        planned = step.responses
        index = self._served
        self._served += 1
        if index < len(planned):
            return planned[index]
        if index < len(planned) + STORM_ALLOWANCE:
            return planned[-1]
        return ScriptedResponse(fault="reset")

    def step_requests(self, index: int) -> list[RecordedRequest]:
        return [r for r in self.requests if r.step == index]


class Transport(Protocol):
    """How a mode serves a case's script to a client and records what the client sends."""

    name: str

    def target_for(self, case: Case, secret: str, token: str) -> Target:
        """Where the client is pointed for ``case``, with the run's planted secret and token."""
        ...

    def serve(self, script: Script) -> AbstractContextManager[None]:
        """Intercept the client's HTTP for the whole case."""
        ...

    def step(self, script: Script, index: int) -> AbstractContextManager[None]:
        """Surround one step's call."""
        ...


def api_method_of(url: str) -> str:
    """The REST method a request URL names (lowercase, without .json), "" for none."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return split_method(last)[0]


def offline_target(case: Case, *, secret: str, token: str, timeout: float = 2.0) -> Target:
    """A Target on the unresolvable offline host, with planted secrets."""
    return Target(
        base_url=f"https://{OFFLINE_HOST}/rest/1/{secret}/",
        portal_url=f"https://{OFFLINE_HOST}/",
        user_id=1,
        secret=secret,
        auth_token=token if case.auth == "oauth" else None,
        timeout=timeout,
    )


class _OfflineTargets:
    """Transports that intercept in process point the client at the unresolvable host."""

    def target_for(self, case: Case, secret: str, token: str) -> Target:
        return offline_target(case, secret=secret, token=token)


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in body)


class StubTransport(_OfflineTargets):
    """``responses`` in process: reaches clients built on requests."""

    name = "stub"
    _verbs = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

    @contextmanager
    def serve(self, script: Script) -> Iterator[None]:
        def answer(request: requests.PreparedRequest) -> Any:
            script.record(
                request.method or "GET",
                request.url or "",
                dict(request.headers),
                _as_bytes(request.body),
            )
            scripted = script.next_answer(request.url or "")
            if scripted.fault == "timeout":
                if getattr(request, "req_kwargs", {}).get("timeout") is None:
                    # A client without a timeout waits as long as a stalled portal lets it.
                    script.closed.wait()
                    return requests.exceptions.ConnectionError(
                        "scripted: the stall ended with the case"
                    )
                return requests.exceptions.ReadTimeout("scripted: no answer within the timeout")
            if scripted.fault is not None:
                return requests.exceptions.ConnectionError("scripted: the connection dropped")
            return script.render(scripted)

        # Our own Script counts answers, so responses need not assert that each fired.
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            for verb in self._verbs:
                mock.add_callback(verb, re.compile(r".*"), callback=answer, content_type=None)
            try:
                yield
            finally:
                script.closed.set()

    @contextmanager
    def step(self, script: Script, index: int) -> Iterator[None]:
        script.begin_step(index)
        yield


def cassette_path(case_id: str) -> Path:
    return _data.cassettes_dir() / f"{case_id}.yaml"


#: Cassettes held in memory under names that start with MEMORY_PREFIX: generated exchanges
#: (the property layer) replay through vcrpy like the catalogue's files. Each is a cassette
#: text (the file format) or the document vcrpy's serializer would have turned into that
#: text (``IN_MEMORY``), which skips writing YAML only for vcrpy to parse it back.
MEMORY_PREFIX: Final = "memory:"
MEMORY_CASSETTES: dict[str, Any] = {}
_memory_names = itertools.count()


class _InMemorySerializer:
    """A vcrpy serializer whose "text" is the cassette document itself (copied on reading,
    as parsing a text would make fresh objects): vcrpy's own serialize and deserialize run
    around it, so the interactions a client replays are the ones a YAML text would give."""

    @staticmethod
    def serialize(cassette_dict: Any) -> Any:
        return cassette_dict

    @staticmethod
    def deserialize(cassette_document: Any) -> Any:
        return copy.deepcopy(cassette_document)


IN_MEMORY: Final = _InMemorySerializer()


@contextmanager
def memory_cassette(cassette: Any) -> Iterator[str]:
    """Hold a cassette (a text, or a document serialized with IN_MEMORY) in memory for the
    block; yields its name for ``ReplayTransport``."""
    name = f"{MEMORY_PREFIX}{next(_memory_names)}"
    MEMORY_CASSETTES[name] = cassette
    try:
        yield name
    finally:
        MEMORY_CASSETTES.pop(name, None)


class _StepPersister:
    """Loads one step's interactions of a case cassette (cached per file)."""

    _cache: dict[str, tuple[list[Any], list[Any], dict[str, Any]]] = {}  # noqa: RUF012

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        path, _, step_text = str(cassette_path).rpartition("::")
        if path.startswith(MEMORY_PREFIX):
            # Never cached: a memory name lives for one generated exchange.
            if path not in MEMORY_CASSETTES:
                raise CassetteNotFoundError()
            held = MEMORY_CASSETTES[path]
            loaded = deserialize(held, serializer if isinstance(held, str) else IN_MEMORY)
            requests_, responses_ = loaded[0], loaded[1]
            metadata = loaded[2] if len(loaded) > 2 else {}
        else:
            if path not in cls._cache:
                file = Path(path)
                if not file.is_file():
                    raise CassetteNotFoundError()
                loaded = deserialize(file.read_text(encoding="utf-8"), serializer)
                cls._cache[path] = (loaded[0], loaded[1], loaded[2] if len(loaded) > 2 else {})
            requests_, responses_, metadata = cls._cache[path]
        counts = metadata.get("steps", [len(requests_)])
        step = int(step_text)
        start = sum(counts[:step])
        chosen = slice(start, start + counts[step])
        # The storm allowance is played by ReplayTransport.step, not padded in here: vcrpy
        # copies and filters every interaction it loads, and padding made that eleven-fold.
        return requests_[chosen], responses_[chosen]

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        raise RuntimeError("replay mode never records")


def _same_api_method(recorded: Any, stored: Any) -> None:
    ours = split_method(recorded.path.rstrip("/").rsplit("/", 1)[-1])[0]
    theirs = split_method(stored.path.rstrip("/").rsplit("/", 1)[-1])[0]
    if ours != theirs:
        raise AssertionError(f"method {ours} is not {theirs}")


#: The HTTP clients vcrpy imports each time it opens a cassette, to patch those installed.
_VCR_PATCHES: Final = ("httplib2", "tornado", "httpx", "httpx_curl_cffi", "pyreqwest", "httpx2")


@cache
def _remember_absent_clients() -> None:
    """Python does not remember a failed import: vcrpy's tries of the clients not installed
    searched the whole import path again for every cassette, a quarter of a replayed case's
    CPU. None in sys.modules is the import system's own "cannot be imported": the same
    ModuleNotFoundError, at once."""
    for name in _VCR_PATCHES:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


def replay_vcr() -> vcr.VCR:
    recorder = vcr.VCR(
        record_mode="none",
        match_on=["b24_method"],
        serializer="yaml",
        decode_compressed_response=False,
    )
    recorder.register_matcher("b24_method", _same_api_method)
    recorder.register_persister(_StepPersister)
    return recorder


class ReplayTransport(_OfflineTargets):
    """vcrpy cassettes: reaches requests, httpx, aiohttp, urllib3 and http.client clients.

    By default a case replays its cassette file; ``cassette`` names another one instead,
    typically a ``memory:`` name from ``memory_cassette``.
    """

    name = "replay"

    def __init__(self, cassette: str | None = None) -> None:
        self._vcr = replay_vcr()
        self._cassette = cassette

    def _cassette_for(self, script: Script) -> str:
        return self._cassette or str(cassette_path(script.case.id))

    @contextmanager
    def serve(self, script: Script) -> Iterator[None]:
        if self._cassette is not None and self._cassette.startswith(MEMORY_PREFIX):
            if self._cassette not in MEMORY_CASSETTES:
                raise FileNotFoundError(f"no cassette held in memory as {self._cassette}")
            yield
            return
        path = Path(self._cassette_for(script))
        if not path.is_file():
            raise FileNotFoundError(
                f"no cassette for case {script.case.id} at {path}: "
                "run `b24-conformance cassettes` to generate the catalogue's cassettes"
            )
        yield

    @contextmanager
    def step(self, script: Script, index: int) -> Iterator[None]:
        script.begin_step(index)
        path = f"{self._cassette_for(script)}::{index}"
        _remember_absent_clients()
        skipped = _vcr.patchers_to_skip()
        options: dict[str, Any] = {"skip_patchers": skipped} if skipped else {}
        with self._vcr.use_cassette(
            path, filter_sensitive_data=script.substitutions, **options
        ) as cassette:
            played = cassette.play_response
            can_play = cassette.can_play_response_for
            repeated = [0]  # answers played past the step's own

            def repeats_last(request: Any) -> bool:
                """Past the step's answers the last one repeats, as in the stub, up to the
                storm allowance; then connections drop."""
                if repeated[0] >= STORM_ALLOWANCE or not cassette.data:
                    return False
                try:
                    _same_api_method(request, cassette.data[-1][0])
                except AssertionError:
                    return False
                return True

            def play(request: Any) -> Any:
                script.record(
                    request.method, request.uri, dict(request.headers), _as_bytes(request.body)
                )
                if can_play(request):
                    return played(request)
                repeated[0] += 1
                return copy.deepcopy(cassette.data[-1][1])

            def can_play_for(request: Any) -> Any:
                answer = can_play(request) or repeats_last(request)
                if not answer:
                    script.record(
                        request.method, request.uri, dict(request.headers), _as_bytes(request.body)
                    )
                    # Past the script and its padding the connection drops, as in the stub;
                    # vcrpy's own error would quote the URL, secret included, through the client.
                    raise ConnectionResetError("scripted: the connection dropped")
                return answer

            cassette.play_response = play
            cassette.can_play_response_for = can_play_for
            yield
