"""The suite's detection power: mutation testing of the reference client (not a test: run by hand).

    nice -n 10 python benchmarks/mutation.py [--jobs 3] [--only ID ...] [--json FILE]

Every mutant cosmic-ray's operators make of ``conformance/reference.py`` is written, as a
copy, into a scratch directory of its own and run as a Python adapter:
``b24-conformance run --mode stub -n 0 --client b24c_mutant:factory`` (no ``--strict``). The
mutant is killed when that run exits 1 (a shortfall at level must) or 3 (the adapter is broken:
the smoke call refused it); it survives when the run exits 0. The checkout is never mutated.

A mutant the stub run cannot judge, because it sent nothing stub mode sees (exit 2, "no mode of
this run can see the client"), or that survives it and is not judged equivalent, is run again
over the fake portal (``--mode portal --tls``), as the stub run's own message tells a user to:
a mutant only a real socket or TLS shows (certificate checks, a loop that never sends) is
killed there. The table says which run killed each mutant. A mutant that is not valid Python
(cosmic-ray turns the ``*`` of a keyword-only marker into ``+``) is stillborn: listed, never
run, not scored.

Before the mutants, the unmutated copy must exit 0 in both runs, or nothing the mutants do
means anything. Mutants inside annotations are equivalent by construction (``from __future__
import annotations``: they are never evaluated) and are not run. The survivors judged
equivalent, or waiting for a case being merged from another branch, are data in
``mutation-verdicts.yaml`` beside this script, keyed by mutant id; docs/detection.md explains
each of them.

The score: killed / (mutants - equivalent - stillborn). The pending survivors count as not
killed, and are reported apart so the score can be taken again once their cases are merged.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "conformance" / "reference.py"
VERDICTS_FILE = Path(__file__).resolve().parent / "mutation-verdicts.yaml"
MUTANT_MODULE = "b24c_mutant"
RUN_COMMAND = (
    "b24-conformance",
    "run",
    "--mode",
    "stub",
    "-n",
    "0",
    "-q",
    "--client",
    f"{MUTANT_MODULE}:factory",
)
#: the second run, for what the stub run cannot see or let survive: real sockets, with TLS
PORTAL_COMMAND = (*RUN_COMMAND[:2], "--mode", "portal", "--tls", *RUN_COMMAND[4:])
#: what the stub run says of a client it cannot see (smoke.py): exit 2 with this text
UNSEEN = "no mode of this run can see the client"
#: One stub run takes 12-20 s, most of it the reference's own backoff sleeps; a mutant that
#: hangs every call is cut by the suite's per-call deadline long before this.
RUN_TIMEOUT = 600.0
TARGET_SCORE = 0.95

#: exit code of the run -> what it says about the mutant (errors.py has the codes)
EXIT_VERDICTS: Mapping[int, str] = {0: "survived", 1: "killed", 3: "killed"}
KILLED = "killed"
SURVIVED = "survived"
TIMEOUT = "timeout"
ERROR = "error"
EQUIVALENT = "equivalent"
PENDING = "pending"
STILLBORN = "stillborn"


@dataclass(frozen=True)
class Mutant:
    """One mutation of the target: which operator, where, and the code it makes."""

    operator: str
    occurrence: int
    line: int
    column: int
    before: str
    after: str
    #: which of the operator's mutants at this place (NumberReplacer makes two: +1 and -1)
    variant: int = 0

    @property
    def id(self) -> str:
        """Stable while the target's text stays: ``LINE:COL operator`` in reference.py, with
        ``#N`` for the second and later mutant one operator makes at the same place."""
        place = f"{self.line}:{self.column} {self.operator.removeprefix('core/')}"
        return f"{place}#{self.variant}" if self.variant else place


@dataclass(frozen=True)
class Result:
    mutant: str
    verdict: str
    exit_code: int | None
    seconds: float
    diff: str
    reason: str = ""
    #: the run that decided the verdict: stub, or portal when the stub run could not
    decided_by: str = "stub"


def verdict_for_exit(exit_code: int | None) -> str:
    """What a run's exit code says about the mutant (None: the run was cut by the timeout)."""
    if exit_code is None:
        return TIMEOUT
    return EXIT_VERDICTS.get(exit_code, ERROR)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) (line, column) of every annotation: code never evaluated in the target."""
    annotations: list[ast.expr] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            annotations.append(node.returns)
    return [
        ((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
        for a in annotations
    ]


def in_annotation(mutant: Mutant, spans: Iterable[tuple[tuple[int, int], tuple[int, int]]]) -> bool:
    return any(start <= (mutant.line, mutant.column) < end for start, end in spans)


def mutants_of(source: str) -> list[Mutant]:
    """Every mutant of every argument-free cosmic-ray operator, in a stable order."""
    import cosmic_ray.plugins
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.mutating import mutate_code

    lines = source.splitlines()
    found: list[Mutant] = []
    for name in sorted(cosmic_ray.plugins.operator_names()):
        operator_class = cosmic_ray.plugins.get_operator(name)
        if operator_class.arguments():
            continue  # the variable replacers need per-project arguments; left out
        operator = operator_class()
        positions = [
            start
            for node in ast_nodes(get_ast(source))
            for start, _ in operator.mutation_positions(node)
        ]
        for occurrence, (line, column) in enumerate(positions):
            mutated = mutate_code(source, operator, occurrence)
            if mutated is None:
                continue
            mutated_lines = mutated.splitlines()
            after = mutated_lines[line - 1] if line <= len(mutated_lines) else ""
            variant = sum(
                1 for m in found if (m.operator, m.line, m.column) == (name, line, column)
            )
            before = lines[line - 1].strip()
            found.append(Mutant(name, occurrence, line, column, before, after.strip(), variant))
    return found


def mutated_source(source: str, mutant: Mutant) -> str:
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    operator = cosmic_ray.plugins.get_operator(mutant.operator)()
    mutated = mutate_code(source, operator, mutant.occurrence)
    assert mutated is not None, mutant.id
    return str(mutated)


def stillborn(code: str) -> bool:
    """Whether the mutated source is not valid Python: nothing a suite could run."""
    try:
        compile(code, f"{MUTANT_MODULE}.py", "exec")
    except SyntaxError:
        return True
    return False


def run_client(
    code: str, scratch: Path, command: tuple[str, ...] = RUN_COMMAND
) -> tuple[int | None, float, str]:
    """Run the suite against ``code`` as a module in ``scratch``: exit code, seconds, tail."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / f"{MUTANT_MODULE}.py").write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started, ""
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return done.returncode, time.monotonic() - started, "\n".join(tail)


def load_verdicts(path: Path = VERDICTS_FILE) -> dict[str, dict[str, str]]:
    """Mutant id -> {equivalent: why} or {pending: case topic}."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return dict((data or {}).get("mutants") or {})


def judged(result: Result, verdicts: Mapping[str, Mapping[str, str]]) -> Result:
    """A survivor the verdicts file explains becomes equivalent or pending."""
    entry = verdicts.get(result.mutant)
    if result.verdict != SURVIVED or not entry:
        return result
    if "equivalent" in entry:
        return Result(**{**asdict(result), "verdict": EQUIVALENT, "reason": entry["equivalent"]})
    if "pending" in entry:
        return Result(**{**asdict(result), "verdict": PENDING, "reason": entry["pending"]})
    return result


@dataclass(frozen=True)
class Score:
    total: int
    killed: int
    equivalent: int
    pending: int
    survived: int
    errors: int
    stillborn: int = 0

    @property
    def scored(self) -> int:
        """Mutants a suite could kill: all but the equivalent and the stillborn ones."""
        return self.total - self.equivalent - self.stillborn

    @property
    def ratio(self) -> float:
        return self.killed / self.scored if self.scored else 1.0

    @property
    def ratio_after_pending(self) -> float:
        """The score once the pending cases are merged and kill what they are meant to."""
        return (self.killed + self.pending) / self.scored if self.scored else 1.0


def score(results: Iterable[Result]) -> Score:
    counts = Counter(result.verdict for result in results)
    return Score(
        total=sum(counts.values()),
        killed=counts[KILLED] + counts[TIMEOUT],
        equivalent=counts[EQUIVALENT],
        pending=counts[PENDING],
        survived=counts[SURVIVED],
        errors=counts[ERROR],
        stillborn=counts[STILLBORN],
    )


def needs_portal(verdict: str, tail: str, judged_equivalent: bool) -> bool:
    """Whether the stub run left the mutant to the portal run: it could not see the client,
    or the mutant survived without a verdict that explains it."""
    if verdict == ERROR:
        return UNSEEN in tail
    return verdict == SURVIVED and not judged_equivalent


def run_all(
    mutants: list[Mutant],
    source: str,
    jobs: int,
    scratch: Path,
    verdicts: Mapping[str, Mapping[str, str]],
) -> list[Result]:
    annotated = annotation_spans(source)

    def one(index_mutant: tuple[int, Mutant]) -> Result:
        index, mutant = index_mutant
        diff = f"- {mutant.before}\n+ {mutant.after}"
        if in_annotation(mutant, annotated):
            why = "inside an annotation, never evaluated (from __future__ import annotations)"
            return Result(mutant.id, EQUIVALENT, None, 0.0, diff, why)
        code = mutated_source(source, mutant)
        if stillborn(code):
            return Result(mutant.id, STILLBORN, None, 0.0, diff, "not valid Python")
        where = scratch / f"m{index:03d}"
        exit_code, seconds, tail = run_client(code, where)
        verdict, decided_by = verdict_for_exit(exit_code), "stub"
        equivalent = "equivalent" in verdicts.get(mutant.id, {})
        if needs_portal(verdict, tail, equivalent):
            exit_code, more, tail = run_client(code, where, PORTAL_COMMAND)
            seconds += more
            verdict, decided_by = verdict_for_exit(exit_code), "portal"
        print(
            f"[{index + 1}/{len(mutants)}] {verdict:8} {seconds:5.1f}s {decided_by:6} {mutant.id}",
            flush=True,
        )
        reason = tail if verdict == ERROR else ""
        return Result(mutant.id, verdict, exit_code, seconds, diff, reason, decided_by)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, enumerate(mutants)))


def survivors_table(results: Iterable[Result]) -> str:
    """Every mutant not killed, and every one only the portal run killed, with its change."""
    rows = ["| mutant | change | verdict | run | why |", "|---|---|---|---|---|"]
    for result in results:
        shown = result.verdict in {SURVIVED, EQUIVALENT, PENDING, ERROR, STILLBORN}
        if shown or result.decided_by != "stub":
            change = result.diff.replace("\n", " / ").replace("|", "\\|")
            rows.append(
                f"| `{result.mutant}` | `{change}` | {result.verdict} | {result.decided_by} "
                f"| {result.reason} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3, help="mutants run at once (default 3)")
    parser.add_argument("--only", action="append", default=[], help="run only this mutant id")
    parser.add_argument("--json", type=Path, help="write every result to this file")
    args = parser.parse_args(argv)

    source = TARGET.read_text(encoding="utf-8")
    mutants = mutants_of(source)
    if args.only:
        mutants = [mutant for mutant in mutants if mutant.id in set(args.only)]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="b24c-mutation-") as scratch_dir:
        scratch = Path(scratch_dir)
        for command in (RUN_COMMAND, PORTAL_COMMAND):
            exit_code, seconds, tail = run_client(source, scratch / "unmutated", command)
            if exit_code != 0:
                print(
                    f"the unmutated copy exits {exit_code}, not 0, in {seconds:.0f}s "
                    f"({' '.join(command)}):\n{tail}"
                )
                return 2
            print(f"unmutated copy: exit 0 in {seconds:.1f}s ({command[3]} mode)", flush=True)
        print(f"{len(mutants)} mutants", flush=True)
        verdicts = load_verdicts()
        ran = run_all(mutants, source, args.jobs, scratch, verdicts)
        results = [judged(r, verdicts) for r in ran]
    wall = time.monotonic() - started

    figures = score(results)
    by_portal = sum(1 for r in results if r.verdict == KILLED and r.decided_by == "portal")
    print(survivors_table(results))
    print(
        f"\nkilled {figures.killed} of {figures.scored} non-equivalent mutants "
        f"({figures.ratio:.1%}; target {TARGET_SCORE:.0%}); {figures.equivalent} equivalent, "
        f"{figures.pending} pending a merged case ({figures.ratio_after_pending:.1%} after), "
        f"{figures.survived} unexplained survivors, {figures.errors} errors, "
        f"{figures.stillborn} stillborn; {by_portal} of the kills by the portal run; "
        f"{figures.total} mutants in {wall / 60:.1f} min with {args.jobs} jobs"
    )
    if args.json:
        document: dict[str, Any] = {
            "score": {**asdict(figures), "ratio": figures.ratio},
            "wall_seconds": wall,
            "results": [asdict(result) for result in results],
        }
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0 if figures.ratio >= TARGET_SCORE and not figures.errors else 1


if __name__ == "__main__":
    sys.exit(main())
