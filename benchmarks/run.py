"""The suite's speed figures against their targets and the figures docs/performance.md keeps
(not a test: run it by hand).

    python -m benchmarks [--quick] [--all] [--json FILE]     (or: python benchmarks/run.py)

It prints the three figures of issue 22, each with min / median / max over 3 runs and its CPU
time (user + sys of the whole process tree: the command's own and every worker's):

- the default ``b24-conformance run`` against the reference client (wall and CPU);
- fast-bitrix24 in portal mode against its baseline (wall and CPU, exit code);
- the engine over the bare transport per case in stub mode (bench_engine.py, a CPU ratio);

then a table of each figure's median beside its target and beside the figure recorded in
docs/performance.md ("Recorded figures"), with the change. ``--all`` adds the same run strictly
serial (``-n 0``), the engine in replay mode, property examples/s (bench_properties.py) and the
fake portal against bare werkzeug (bench_portal.py). ``--quick`` makes one round of each and
leaves fast-bitrix24 out (it alone takes a minute per round).

The machine may be shared: wall time moves with the load, CPU time much less; say which
when you record figures.
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

#: figure -> (target, whether the figure must stay at or under it); issue 22's "done when".
TARGETS: dict[str, tuple[float, bool]] = {
    "default run wall (s)": (15.0, True),
    "default run CPU (s)": (10.0, True),
    "fast-bitrix24 wall (s)": (60.0, True),
    "engine/bare stub": (1.5, True),
}
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
RECORDED_HEADING = "## Recorded figures"


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


def spread(values: list[float]) -> dict[str, float]:
    """min / median / max of repeated figures."""
    return {
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
    }


def repeated(command: list[str], rounds: int) -> dict[str, Any]:
    runs = [timed_command([*command, "-q"]) for _ in range(rounds)]
    return {
        "rounds": rounds,
        "exits": sorted({run["exit"] for run in runs}),
        "wall": spread([run["wall"] for run in runs]),
        "cpu": spread([run["cpu"] for run in runs]),
        # One line per run: the same ids and outcomes every time is what "deterministic" means.
        "summaries": sorted({run["summary"] for run in runs}),
    }


def engine(mode: str, rounds: int) -> dict[str, Any]:
    figures = bench_engine.compare(mode, rounds)
    low, high = figures["ratio_spread"]  # type: ignore[misc]
    figures["ratio"] = {"min": low, "median": figures["ratio_median"], "max": high}
    return figures


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


def measure(quick: bool, everything: bool) -> dict[str, Any]:
    rounds = 1 if quick else 3
    figures: dict[str, Any] = {}
    print("default run ...", file=sys.stderr)
    figures["default_run"] = repeated(DEFAULT_RUN, rounds)
    if not quick:
        print("fast-bitrix24 against its baseline ...", file=sys.stderr)
        figures["fast_bitrix24"] = repeated(FAST_BITRIX24_RUN, rounds)
    print("engine against bare transport ...", file=sys.stderr)
    figures["engine"] = {"stub": engine("stub", rounds * 3)}
    if everything:
        print("the default run, serial (-n 0) ...", file=sys.stderr)
        figures["serial_run"] = repeated(SERIAL_RUN, rounds)
        figures["engine"]["replay"] = engine("replay", rounds * 3)
        print("properties ...", file=sys.stderr)
        figures["properties"] = properties(1)
        print("portal against bare werkzeug ...", file=sys.stderr)
        figures["portal"] = bench_portal.compare(
            [1, 8], seconds=1.0 if quick else 3.0, rounds=rounds, badges=3
        )
    return figures


def headline(figures: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The figures the targets speak of (min / median / max), by the names TARGETS uses."""
    found = {
        "default run wall (s)": figures["default_run"]["wall"],
        "default run CPU (s)": figures["default_run"]["cpu"],
        "engine/bare stub": figures["engine"]["stub"]["ratio"],
    }
    if "fast_bitrix24" in figures:
        found["fast-bitrix24 wall (s)"] = figures["fast_bitrix24"]["wall"]
        found["fast-bitrix24 CPU (s)"] = figures["fast_bitrix24"]["cpu"]
    return found


def recorded(doc: Path = PERFORMANCE_DOC) -> dict[str, float]:
    """The medians docs/performance.md records: its "Recorded figures" table's rows
    ``| figure | before | after | target |``, read from the "after" column."""
    if not doc.is_file():
        return {}
    text = doc.read_text(encoding="utf-8")
    if RECORDED_HEADING not in text:
        return {}
    section = text.split(RECORDED_HEADING, 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in {*TARGETS, "fast-bitrix24 CPU (s)"}:
            try:
                found[cells[0]] = float(cells[2])
            except ValueError:
                continue
    return found


def _line(name: str, figure: dict[str, float], kept: dict[str, float]) -> str:
    median = figure["median"]
    range_ = f"{figure['min']} / {median} / {figure['max']}"
    then = kept.get(name)
    change = f"{then:>9}  {median - then:+.2f}" if then is not None else f"{'-':>9}  {'':>5}"
    if name in TARGETS:
        limit, at_most = TARGETS[name]
        met = median <= limit if at_most else median >= limit
        verdict = f"{'<=' if at_most else '>='} {limit:<5} {'met' if met else 'MISSED'}"
    else:
        verdict = ""
    return f"{name:<24}{range_:>24}{change}  {verdict}"


def render(figures: dict[str, Any]) -> str:
    run = figures["default_run"]
    lines = [
        f"default run: exit {run['exits']}; {' | '.join(run['summaries'])}",
    ]
    if "fast_bitrix24" in figures:
        fast = figures["fast_bitrix24"]
        lines.append(f"fast-bitrix24: exit {fast['exits']}; {' | '.join(fast['summaries'])}")
    else:
        lines.append("fast-bitrix24: left out (--quick)")
    kept = recorded()
    lines += [
        "",
        f"{'figure':<24}{'min / median / max':>24}{'recorded':>9}  {'change':>5}  target",
    ]
    lines += [_line(name, figure, kept) for name, figure in headline(figures).items()]
    if "serial_run" in figures:
        serial = figures["serial_run"]
        lines += ["", f"serial (-n 0): wall {serial['wall']}, CPU {serial['cpu']}"]
    if "replay" in figures["engine"]:
        lines.append(f"engine/bare replay: {figures['engine']['replay']['ratio']}")
    if "properties" in figures:
        props = figures["properties"]
        lines.append(
            "property examples/s: "
            + ", ".join(f"{mode} {props[mode]['examples_per_s']}" for mode in OFFLINE_MODES)
            + f"; machine {props['machine']['runs_per_s']} runs/s"
        )
    if "portal" in figures:
        for key, level in figures["portal"].items():
            if key.startswith("clients_"):
                lines.append(
                    f"portal/bare at {key.removeprefix('clients_')} clients: "
                    f"{level['portal_over_bare']} (spread {level['ratio_spread']})"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round each, no fast-bitrix24")
    parser.add_argument(
        "--all", action="store_true", help="also serial, replay, properties, portal"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = measure(args.quick, args.all)
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
