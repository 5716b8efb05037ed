"""Engine throughput per offline mode, against the bare transport (not a test: run it by hand).

    python benchmarks/bench_engine.py [--rounds N]

For each mode it runs every case without deliberate waits (retry backoff and operating-reset
cases sleep on purpose) through ``conformance.engine.run_case`` with the reference client, then
makes the same number of plain ``requests.post`` calls through the same stub or cassette, and
prints cases per second and the engine/bare CPU-time ratio (target: <= 1.5x), best of the
rounds and their median and spread. ``python benchmarks/run.py`` prints it beside the rest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import requests

from conformance.case import Case, all_cases
from conformance.engine import run_case
from conformance.modes import make_transport
from conformance.reference import factory
from conformance.transports import Script, offline_target

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


def bare(cases: list[Case], mode: str) -> tuple[float, int]:
    """Plain requests.post calls through the same transport, as many as the script answers."""
    session = requests.Session()
    count = 0
    started = time.perf_counter()
    for case in cases:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    figures = {mode: compare(mode, args.rounds) for mode in ("stub", "replay")}
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
