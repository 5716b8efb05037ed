"""Every speed figure of the suite side by side, in one run (not a test: run it by hand).

    python benchmarks/run.py [--quick] [--json FILE]

It prints, against the targets of issue 14:

- the default ``b24-conformance run``: wall and CPU time (median of the rounds, and the
  spread), and wall over CPU; beside it the same run strictly serial (``-n 0``);
- per offline mode, the engine's cases/s against the bare transport (bench_engine.py), as a
  CPU-time ratio;
- property examples/s per offline mode and the badge-registry machine (bench_properties.py);
- the fake portal's req/s against bare werkzeug at 1 and 8 clients (bench_portal.py);
- fast-bitrix24 in portal mode against its baseline (wall, CPU, exit code).

The machine is shared: absolute figures move with the load, so ratios are what to compare,
and every repeated figure says its spread. ``--quick`` makes one round of each and leaves the
fast-bitrix24 run out (it alone takes a minute or more).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bench_engine
import bench_portal
import bench_properties

from conformance.modes import OFFLINE_MODES
from conformance.properties import PROPERTIES, ScriptedProperty

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_RUN = ["b24-conformance", "run"]
#: The same run kept in one process: what the default's worker processes are measured against.
SERIAL_RUN = [*DEFAULT_RUN, "-n", "0"]
FAST_BITRIX24_RUN = [
    "b24-conformance",
    "run",
    "--client",
    "conformance.adapters.fast_bitrix24:factory",
    "--mode",
    "portal",
    "--baseline",
    "baselines/fast-bitrix24.yaml",
]

#: figure -> (target, whether the figure must stay at or under it)
TARGETS: dict[str, tuple[float, bool]] = {
    "default run wall (s)": (15.0, True),
    "default run wall/CPU": (1.5, True),
    "engine/bare stub": (1.5, True),
    "engine/bare replay": (1.5, True),
    "portal/bare at 8 clients": (0.85, False),
    "fast-bitrix24 wall (s)": (60.0, True),
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_command(command: list[str]) -> dict[str, Any]:
    """Wall and CPU seconds (the command's process tree, as far as it waits for it) of one run."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    return {
        "exit": done.returncode,
        "wall": wall,
        "cpu": _children_cpu() - cpu_before,
        "summary": lines[-1] if lines else done.stderr.strip()[-200:],
    }


def repeated(command: list[str], rounds: int) -> dict[str, Any]:
    runs = [timed_command(command) for _ in range(rounds)]
    walls = [run["wall"] for run in runs]
    cpus = [run["cpu"] for run in runs]
    return {
        "rounds": rounds,
        "exits": sorted({run["exit"] for run in runs}),
        "wall_median": round(statistics.median(walls), 2),
        "wall_spread": [round(min(walls), 2), round(max(walls), 2)],
        "cpu_median": round(statistics.median(cpus), 2),
        "wall_over_cpu": round(
            statistics.median(w / c for w, c in zip(walls, cpus, strict=True)), 2
        ),
        "summary": runs[-1]["summary"],
    }


def properties(rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for mode in OFFLINE_MODES:
        made = [
            bench_properties.scripted(property_id, mode, rounds, "ci")
            for property_id, prop in PROPERTIES.items()
            if isinstance(prop, ScriptedProperty) and mode in prop.modes
        ]
        examples = sum(figure["examples"] for figure in made)
        seconds = sum(figure["seconds"] for figure in made)
        figures[mode] = {"examples": examples, "examples_per_s": round(examples / seconds, 1)}
    figures["machine"] = bench_properties.machine(rounds, "ci")
    return figures


def measure(quick: bool) -> dict[str, Any]:
    rounds = 1 if quick else 3
    figures: dict[str, Any] = {}
    print("default run ...", file=sys.stderr)
    figures["default_run"] = repeated(DEFAULT_RUN, rounds)
    print("the same run, serial (-n 0) ...", file=sys.stderr)
    figures["serial_run"] = repeated(SERIAL_RUN, rounds)
    print("engine against bare transport ...", file=sys.stderr)
    figures["engine"] = {
        mode: bench_engine.compare(mode, 3 if quick else 9) for mode in ("stub", "replay")
    }
    print("properties ...", file=sys.stderr)
    figures["properties"] = properties(1)
    print("portal against bare werkzeug ...", file=sys.stderr)
    figures["portal"] = bench_portal.compare(
        [1, 8], seconds=1.0 if quick else 3.0, rounds=rounds, badges=3
    )
    if not quick:
        print("fast-bitrix24 against its baseline ...", file=sys.stderr)
        figures["fast_bitrix24"] = repeated(FAST_BITRIX24_RUN, 1)
    return figures


def headline(figures: dict[str, Any]) -> dict[str, float]:
    """The figures the targets speak of, by the names TARGETS uses."""
    run = figures["default_run"]
    found = {
        "default run wall (s)": run["wall_median"],
        "default run wall/CPU": run["wall_over_cpu"],
        "engine/bare stub": figures["engine"]["stub"]["engine_over_bare"],
        "engine/bare replay": figures["engine"]["replay"]["engine_over_bare"],
        "portal/bare at 8 clients": figures["portal"]["clients_8"]["portal_over_bare"],
    }
    if "fast_bitrix24" in figures:
        found["fast-bitrix24 wall (s)"] = figures["fast_bitrix24"]["wall_median"]
    return found


def render(figures: dict[str, Any]) -> str:
    run, serial = figures["default_run"], figures["serial_run"]
    lines = [
        f"default run: wall {run['wall_median']} s (spread {run['wall_spread']}), "
        f"CPU {run['cpu_median']} s, wall/CPU {run['wall_over_cpu']}, exit {run['exits']}; "
        f"{run['summary']}",
        f"serial (-n 0): wall {serial['wall_median']} s (spread {serial['wall_spread']}), "
        f"CPU {serial['cpu_median']} s; default/serial wall "
        f"{run['wall_median'] / serial['wall_median']:.2f}",
        "",
        f"{'mode':<8}{'engine cases/s':>16}{'bare cases/s':>14}{'engine/bare':>13}"
        f"{'median':>8}{'spread':>14}",
    ]
    for mode, engine in figures["engine"].items():
        lines.append(
            f"{mode:<8}{engine['engine_cases_per_s']:>16}{engine['bare_cases_per_s']:>14}"
            f"{engine['engine_over_bare']:>13}{engine['ratio_median']:>8}"
            f"{engine['ratio_spread']!s:>14}"
        )
    props = figures["properties"]
    lines += [
        "",
        "property examples/s: "
        + ", ".join(f"{mode} {props[mode]['examples_per_s']}" for mode in OFFLINE_MODES)
        + f"; machine {props['machine']['runs_per_s']} runs/s, "
        f"{props['machine']['calls_per_s']} portal calls/s",
        "",
        f"{'clients':>7}{'portal req/s':>14}{'bare req/s':>12}{'portal/bare':>13}{'spread':>18}",
    ]
    for key, level in figures["portal"].items():
        if key.startswith("clients_"):
            lines.append(
                f"{key.removeprefix('clients_'):>7}{level['portal_req_per_s']:>14}"
                f"{level['bare_req_per_s']:>12}{level['portal_over_bare']:>13}"
                f"{level['ratio_spread']!s:>18}"
            )
    cpu = figures["portal"]["server_cpu_us_per_request"]
    lines.append(f"server CPU per request: portal {cpu['portal']} us, bare {cpu['bare']} us")
    if "fast_bitrix24" in figures:
        fast = figures["fast_bitrix24"]
        lines += [
            "",
            f"fast-bitrix24 (portal, baseline): wall {fast['wall_median']} s, CPU "
            f"{fast['cpu_median']} s, exit {fast['exits']}; {fast['summary']}",
        ]
    else:
        lines += ["", "fast-bitrix24: left out (--quick)"]
    lines += ["", f"{'target':<28}{'figure':>10}{'target':>10}  verdict"]
    for name, value in headline(figures).items():
        limit, at_most = TARGETS[name]
        met = value <= limit if at_most else value >= limit
        sign = "<=" if at_most else ">="
        lines.append(f"{name:<28}{value:>10}{sign:>4}{limit:>6}  {'met' if met else 'MISSED'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round each, no fast-bitrix24")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = measure(args.quick)
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
