"""The mutation benchmark's own logic: exit codes to verdicts, the verdicts file, the score."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "mutation.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_benchmark", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("exit_code", "verdict"),
    [
        (0, "survived"),
        (1, "killed"),
        (3, "killed"),
        (2, "error"),
        (130, "error"),
        (None, "timeout"),
    ],
)
def test_exit_code_verdicts(bench: ModuleType, exit_code: int | None, verdict: str) -> None:
    assert bench.verdict_for_exit(exit_code) == verdict


def test_verdicts_file_turns_survivors_only(bench: ModuleType) -> None:
    verdicts = {"1:1 A": {"equivalent": "log text only"}, "2:2 B": {"pending": "case x"}}
    survivor = bench.Result("1:1 A", "survived", 0, 1.0, "")
    killed = bench.Result("1:1 A", "killed", 1, 1.0, "")
    assert bench.judged(survivor, verdicts).verdict == "equivalent"
    assert bench.judged(survivor, verdicts).reason == "log text only"
    assert bench.judged(killed, verdicts).verdict == "killed"
    assert (
        bench.judged(bench.Result("2:2 B", "survived", 0, 1.0, ""), verdicts).verdict == "pending"
    )
    assert (
        bench.judged(bench.Result("3:3 C", "survived", 0, 1.0, ""), verdicts).verdict == "survived"
    )


def test_score_leaves_equivalents_out_and_counts_pending_apart(bench: ModuleType) -> None:
    verdicts = ["killed"] * 17 + ["timeout", "equivalent", "equivalent", "pending", "survived"]
    figures = bench.score(bench.Result(str(i), v, None, 0.0, "") for i, v in enumerate(verdicts))
    assert (figures.total, figures.scored, figures.killed) == (22, 20, 18)
    assert (figures.pending, figures.survived) == (1, 1)
    assert figures.ratio == pytest.approx(0.9)
    assert figures.ratio_after_pending == pytest.approx(0.95)


def test_annotations_are_found(bench: ModuleType) -> None:
    source = "def f(a: int | None) -> str | None:\n    return a | 1\n"
    spans = bench.annotation_spans(source)
    at = lambda line, col: bench.Mutant("core/X", 0, line, col, "", "")  # noqa: E731
    assert bench.in_annotation(at(1, 13), spans)
    assert bench.in_annotation(at(1, 28), spans)
    assert not bench.in_annotation(at(2, 13), spans)


def test_a_mutant_that_is_not_python_is_stillborn_and_not_scored(bench: ModuleType) -> None:
    assert bench.stillborn("def f(self, +, a=1):\n    pass\n")
    assert not bench.stillborn("def f(self, /, a=1):\n    pass\n")
    figures = bench.score(
        bench.Result(str(i), v, None, 0.0, "") for i, v in enumerate(["killed", "stillborn"])
    )
    assert (figures.total, figures.scored, figures.ratio) == (2, 1, 1.0)


@pytest.mark.parametrize(
    ("verdict", "tail", "equivalent", "again"),
    [
        ("error", "Error: no mode of this run can see the client: stub mode ...", False, True),
        ("error", "Error: importing module 'b24c_mutant' raised NameError", False, False),
        ("survived", "", False, True),
        ("survived", "", True, False),
        ("killed", "", False, False),
    ],
)
def test_the_portal_run_takes_what_the_stub_run_cannot_see_or_let_survive(
    bench: ModuleType, verdict: str, tail: str, equivalent: bool, again: bool
) -> None:
    assert bench.needs_portal(verdict, tail, equivalent) is again


def test_two_mutants_at_one_place_get_ids_of_their_own(bench: ModuleType) -> None:
    plus, minus = (
        bench.Mutant("core/NumberReplacer", n, 1, 8, "LIMIT = 4", f"LIMIT = {4 + d}", n)
        for n, d in enumerate((1, -1))
    )
    assert (plus.id, minus.id) == ("1:8 NumberReplacer", "1:8 NumberReplacer#1")
