"""Engine throughput per offline mode, against the bare transport (not a test: run it by hand).

    python benchmarks/bench_engine.py [--rounds N]

For each mode it runs every case without deliberate waits (retry backoff and operating-reset
cases sleep on purpose) through ``conformance.engine.run_case`` with the reference client, then
makes the same number of plain ``requests.post`` calls through the same stub or cassette, and
prints cases per second, requests per second and the engine/bare time ratio (target: < 3x).
It also times one whole ``b24-conformance run`` (target: < 30 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
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
        isinstance(r.body, dict) and r.body.get("error") in _WAITED_ON
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    figures = {}
    for mode in ("stub", "replay"):
        cases = _quick_cases(mode)
        engine(cases, mode)  # warm caches: schemas, cassettes, imports
        bare(cases, mode)
        engine_time = min(engine(cases, mode)[0] for _ in range(args.rounds))
        bare_time = min(bare(cases, mode)[0] for _ in range(args.rounds))
        figures[mode] = {
            "cases": len(cases),
            "engine_cases_per_s": round(len(cases) / engine_time, 1),
            "bare_cases_per_s": round(len(cases) / bare_time, 1),
            "engine_over_bare": round(engine_time / bare_time, 2),
        }
    started = time.perf_counter()
    done = subprocess.run(["b24-conformance", "run"], capture_output=True, text=True, check=False)
    figures["full_run"] = {
        "exit": done.returncode,
        "seconds": round(time.perf_counter() - started, 2),
    }
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
