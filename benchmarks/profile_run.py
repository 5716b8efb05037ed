"""Where the CPU of one ``b24-conformance run`` goes, phase by phase (not a test).

    python benchmarks/profile_run.py [--workers N] [RUN OPTIONS, e.g. --report DIR]

It runs the default run strictly serial in this process (``-n 0``), with the CPU clock of the
whole process (every thread: the client's calls, the fake portal's server threads) read at
each phase boundary, and prints one row per phase: start-up and imports, the session's
preparation (client loaded, smoke call, baseline), pytest's own start-up and collection, the
cases of each mode, the properties of each mode, and the reports. A worker process repeats
the start-up, the preparation and the collection: ``--workers N`` then runs the same
selection under ``-n N`` in a child and prints what those workers cost beyond the serial run.

CPU time is what the figures are: on a shared machine wall time says more about the other
processes than about this one.
"""

from __future__ import annotations

import time

_PROCESS_START = time.process_time()

import argparse  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Phases:
    """CPU seconds per phase, read off the process clock at each boundary."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.wall: collections.Counter[str] = collections.Counter()
        self.count: collections.Counter[str] = collections.Counter()
        self._mark = time.process_time()
        self._wall_mark = time.perf_counter()

    def close(self, phase: str) -> None:
        """Everything since the last boundary belongs to ``phase``."""
        now, wall = time.process_time(), time.perf_counter()
        self.cpu[phase] += now - self._mark
        self.wall[phase] += wall - self._wall_mark
        self._mark, self._wall_mark = now, wall

    @contextlib.contextmanager
    def phase(self, name: str, before: str) -> Iterator[None]:
        self.close(before)
        try:
            yield
        finally:
            self.close(name)
            self.count[name] += 1


def _wrap(owner: Any, attribute: str, name: Callable[..., str], phases: Phases) -> None:
    original = getattr(owner, attribute)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with phases.phase(name(*args, **kwargs), before="pytest: start-up, collection, hooks"):
            return original(*args, **kwargs)

    setattr(owner, attribute, wrapped)


def serial(argv: list[str]) -> dict[str, Any]:
    """The phases of one serial run of ``b24-conformance run ARGV``, in this process."""
    phases = Phases()
    phases.cpu["interpreter start-up"] = _PROCESS_START
    from conformance import cli  # the command's own imports

    phases.close("imports: the command line")
    from conformance import reports, session
    from conformance.properties import PROPERTIES

    phases.close("imports: session, reports, properties")

    def item_phase(_self: Any, item: str, mode: str) -> str:
        return f"{'properties' if item in PROPERTIES else 'cases'}: {mode}"

    _wrap(session.RunSession, "prepare", lambda *_: "session: client, smoke, baseline", phases)
    _wrap(session.RunSession, "run", item_phase, phases)
    _wrap(reports, "redacted_document", lambda *_a, **_k: "reports: document", phases)
    _wrap(reports, "write_reports", lambda *_a, **_k: "reports: files", phases)
    code = 0
    try:
        cli.main([*argv, "-n", "0", "-q"], standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    phases.close("pytest: start-up, collection, hooks")
    return {
        "exit": code,
        "cpu": {k: round(v, 3) for k, v in phases.cpu.items()},
        "wall": {k: round(v, 3) for k, v in phases.wall.items()},
        "count": dict(phases.count),
    }


def _child_cpu(command: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def workers(argv: list[str], count: int) -> dict[str, float]:
    """CPU of the same run under ``-n COUNT`` and strictly serial, both as child processes."""
    command = [sys.executable, "-m", "conformance", "run", *argv, "-q"]
    spread = _child_cpu([*command, "-n", str(count)])
    alone = _child_cpu([*command, "-n", "0"])
    return {"parallel": round(spread, 2), "serial": round(alone, 2)}


def render(figures: dict[str, Any]) -> str:
    cpu, wall, count = figures["cpu"], figures["wall"], figures["count"]
    total = sum(cpu.values())
    lines = [f"{'phase':<40}{'CPU s':>8}{'share':>8}{'wall s':>8}{'calls':>7}"]
    for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        lines.append(
            f"{name:<40}{seconds:>8.2f}{seconds / total:>8.0%}"
            f"{wall.get(name, 0.0):>8.2f}{count.get(name, ''):>7}"
        )
    lines.append(f"{'total':<40}{total:>8.2f}{1:>8.0%}{sum(wall.values()):>8.2f}")
    if "workers" in figures:
        spread = figures["workers"]
        lines.append(
            f"\n-n {figures['worker_count']}: CPU {spread['parallel']} s against "
            f"{spread['serial']} s serial (as child processes): the workers' start-up, "
            f"preparation and collection cost {spread['parallel'] - spread['serial']:.2f} s"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="also compare -n N (a child)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args, run_argv = parser.parse_known_args()
    figures = serial(["run", *run_argv])
    if args.workers:
        figures["workers"] = workers(run_argv, args.workers)
        figures["worker_count"] = args.workers
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
