"""Engine throughput per offline mode, against the bare transport (not a test: run it by hand).

    python benchmarks/bench_engine.py [--rounds N] [--parts]

For each mode it runs every case without deliberate waits (retry backoff and operating-reset
cases sleep on purpose) through ``conformance.engine.run_case`` with the reference client, then
makes the same number of plain ``requests.post`` calls through the same stub or cassette, and
prints cases per second and the engine/bare CPU-time ratio (target: <= 1.5x), best of the
rounds and their median and spread. ``python benchmarks/run.py`` prints it beside the rest.
The bare calls share one ``requests.Session``; the reference client makes its own per case.

``--parts`` prints, for stub mode, the CPU per case of the engine as it is, without its
checks, without its output capture, of the reference client called without the engine, and
of the bare calls (also with a session per case):
the least of N interleaved rounds each (the parts are switched off by replacing them in this
process only).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import requests

from conformance.case import Case, all_cases
from conformance.engine import run_case
from conformance.modes import make_transport
from conformance.reference import factory
from conformance.transports import SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER, Script, offline_target

# Answers the reference client waits on by design (backoff, operating reset).
_WAITED_ON = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"}


def _waits(case: Case) -> bool:
    return any(
        isinstance(r.body, dict) and str(r.body.get("error")) in _WAITED_ON
        for s in case.steps
        for r in s.responses
        if r.has_body
    )


def _quick_cases(mode: str) -> list[Case]:
    return [
        case
        for case in all_cases()
        if mode in case.modes
        and not case.needs
        and case.auth == "webhook"
        and not _waits(case)
        and not any(r.fault for s in case.steps for r in s.responses)
    ]


def bare(cases: list[Case], mode: str, *, session_per_case: bool = False) -> tuple[float, int]:
    """Plain requests.post calls through the same transport, as many as the script answers:
    through one session, or (``session_per_case``) a new one for each case, as the reference
    client makes one per adapter."""
    session = requests.Session()
    count = 0
    started = time.perf_counter()
    for case in cases:
        if session_per_case:
            session = requests.Session()
        transport = make_transport(mode)
        script = Script(case)
        target = offline_target(case, secret="0123456789abcdef", token="t")
        with transport.serve(script):
            for index, step in enumerate(case.steps):
                with transport.step(script, index):
                    for _ in step.responses:
                        session.post(
                            f"{target.base_url}{step.method}.json",
                            json=dict(step.params),
                            timeout=5,
                        )
                        count += 1
    return time.perf_counter() - started, count


def client_alone(cases: list[Case], mode: str) -> tuple[float, int]:
    """The reference client made and called through the same transport, without the engine:
    no deadline thread, output capture, checks or records."""
    count = 0
    started = time.perf_counter()
    for case in cases:
        transport = make_transport(mode)
        secret, token = "0123456789abcdef", "t0123456789abcdef"
        script = Script(case, substitutions={SECRET_PLACEHOLDER: secret, TOKEN_PLACEHOLDER: token})
        adapter = factory(transport.target_for(case, secret, token))
        with transport.serve(script):
            for index, step in enumerate(case.steps):
                with transport.step(script, index):
                    adapter.call(step.method, dict(step.params))
        count += len(script.requests)
    return time.perf_counter() - started, count


def engine(cases: list[Case], mode: str) -> tuple[float, int]:
    count = 0
    started = time.perf_counter()
    for case in cases:
        result = run_case(case, factory, mode, make_transport(mode))
        if result.outcome != "passed":
            raise SystemExit(f"{case.id} ({mode}) did not pass: {result.message}")
        count += result.requests
    return time.perf_counter() - started, count


def compare(mode: str, rounds: int) -> dict[str, float | int | list[float]]:
    """Engine against bare transport in ``mode``: rounds alternate between the two, and the
    ratio is taken from process CPU time (the calls run on other threads; CPU time counts
    them and is less swayed than wall time by whatever else the machine runs)."""
    cases = _quick_cases(mode)
    engine(cases, mode)  # warm caches: schemas, cassettes, imports
    bare(cases, mode)
    engine_cpu, bare_cpu, engine_wall, bare_wall = [], [], [], []
    for _ in range(rounds):
        for seconds, cpu, run in ((engine_wall, engine_cpu, engine), (bare_wall, bare_cpu, bare)):
            cpu_before = time.process_time()
            seconds.append(run(cases, mode)[0])
            cpu.append(time.process_time() - cpu_before)
    ratios = [e / b for e, b in zip(engine_cpu, bare_cpu, strict=True)]
    return {
        "cases": len(cases),
        "engine_cases_per_s": round(len(cases) / min(engine_wall), 1),
        "bare_cases_per_s": round(len(cases) / min(bare_wall), 1),
        # best of each side: the least disturbed round of each
        "engine_over_bare": round(min(engine_cpu) / min(bare_cpu), 2),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_spread": [round(min(ratios), 2), round(max(ratios), 2)],
    }


@contextlib.contextmanager
def _without(part: str) -> Iterator[None]:
    """The engine with one of its parts replaced by nothing, for the block."""
    from conformance import checks
    from conformance import engine as engine_module

    if part == "checks":
        saved: Any = checks.run_checks
        checks.run_checks = lambda scope, context: []
        try:
            yield
        finally:
            checks.run_checks = saved
    elif part == "capture":

        @contextlib.contextmanager
        def nothing(redact: Any) -> Iterator[Any]:
            yield SimpleNamespace(records=[], seen=[])

        saved = engine_module.captured_output
        engine_module.captured_output = nothing  # type: ignore[assignment]
        try:
            yield
        finally:
            engine_module.captured_output = saved
    else:
        yield


def parts(rounds: int) -> dict[str, float]:
    """Stub-mode CPU microseconds per case: the engine, without each part, and bare."""
    cases = _quick_cases("stub")
    engine(cases, "stub")
    best: dict[str, float] = {}
    for _ in range(rounds):
        for label, run, part in (
            ("engine", engine, ""),
            ("engine without checks", engine, "checks"),
            ("engine without output capture", engine, "capture"),
            ("the reference client alone", client_alone, ""),
            ("bare", bare, ""),
            ("bare, a session per case", functools.partial(bare, session_per_case=True), ""),
        ):
            with _without(part):
                cpu_before = time.process_time()
                run(cases, "stub")
                cpu = time.process_time() - cpu_before
            best[label] = min(best.get(label, cpu), cpu)
    return {label: round(cpu / len(cases) * 1e6) for label, cpu in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--parts", action="store_true", help="the engine's parts, stub mode")
    args = parser.parse_args()
    if args.parts:
        json.dump({"stub, CPU us per case": parts(args.rounds)}, sys.stdout, indent=2)
        print()
        return
    figures = {mode: compare(mode, args.rounds) for mode in ("stub", "replay")}
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
