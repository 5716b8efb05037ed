"""Property-layer throughput per transport (not a test: run it by hand).

    python benchmarks/bench_properties.py [--rounds N] [--profile ci] [--no-tests]

For each scripted property and each offline mode it runs the property against the reference
client (every example passes, so each run makes exactly ``max_examples`` examples) and prints
examples per second, best of N rounds. It runs the badge-registry machine against the fake
portal and prints machine runs and portal calls per second. Unless ``--no-tests``, it also
times ``pytest tests/test_properties.py`` in a subprocess (target: well under 60 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conformance import reference
from conformance.api import Adapter, Target
from conformance.modes import OFFLINE_MODES
from conformance.properties import PROPERTIES, ScriptedProperty, run_property

ROOT = Path(__file__).resolve().parent.parent


class _Counting:
    """The reference factory, counting the adapters it makes: one per example."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, target: Target) -> Adapter:
        self.made += 1
        return reference.factory(target)


def scripted(property_id: str, mode: str, rounds: int, profile: str) -> dict[str, Any]:
    best: dict[str, Any] = {}
    for _ in range(rounds):
        factory = _Counting()
        started = time.perf_counter()
        result = run_property(property_id, factory, mode, profile=profile)
        seconds = time.perf_counter() - started
        if result.outcome != "passed":
            raise SystemExit(f"{property_id} ({mode}) did not pass: {result.message}")
        rate = factory.made / seconds
        if not best or rate > best["examples_per_s"]:
            best = {
                "examples": factory.made,
                "seconds": round(seconds, 2),
                "examples_per_s": round(rate, 1),
            }
    return best


def machine(rounds: int, profile: str) -> dict[str, Any]:
    from conformance.portal import FakePortal

    best: dict[str, Any] = {}
    for _ in range(rounds):
        factory = _Counting()
        with FakePortal(bucket=None) as portal:
            started = time.perf_counter()
            target = portal.target()
            result = run_property(
                "property.badge-registry", factory, "portal", profile=profile, target=target
            )
            seconds = time.perf_counter() - started
            calls = len(portal.requests)
        if result.outcome != "passed":
            raise SystemExit(f"the machine did not pass: {result.message}")
        if not best or seconds < best["seconds"]:
            best = {
                "runs": factory.made,
                "calls": calls,
                "seconds": round(seconds, 2),
                "runs_per_s": round(factory.made / seconds, 1),
                "calls_per_s": round(calls / seconds, 1),
            }
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--no-tests", action="store_true", help="skip timing the self-tests")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for mode in OFFLINE_MODES:
        figures[mode] = {
            property_id: scripted(property_id, mode, args.rounds, args.profile)
            for property_id, prop in PROPERTIES.items()
            if isinstance(prop, ScriptedProperty)
        }
        examples = sum(f["examples"] for f in figures[mode].values())
        seconds = sum(f["seconds"] for f in figures[mode].values())
        figures[mode]["all"] = {"examples_per_s": round(examples / seconds, 1)}
    figures["portal"] = {"property.badge-registry": machine(args.rounds, args.profile)}
    if not args.no_tests:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_properties.py", "-q", "-p", "no:logging"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        figures["self_tests"] = {
            "exit": done.returncode,
            "seconds": round(time.perf_counter() - started, 2),
            "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        }
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
