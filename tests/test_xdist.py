"""`b24-conformance run -n N`: worker processes (one fake portal each) give the serial outcomes,
in the serial order; a run without -n picks its worker processes itself."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.runner import (
    AUTO_MAX_PROCESSES,
    AUTO_MAX_WAITING_PROCESSES,
    AUTO_MIN_ITEMS,
    choose_processes,
)
from tests.fixtures.common import cli

SELECTION = [
    "-k",
    "get. or list. or state. or transport.html or retry.query-limit-then",
    "--no-properties",
]


def _outcomes(directory: Path) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    document = json.loads((directory / "report.json").read_text())
    return {(c["id"], c["mode"]): (c["outcome"], tuple(c["checks"])) for c in document["cases"]}


def _order(directory: Path) -> list[tuple[str, str]]:
    document = json.loads((directory / "report.json").read_text())
    return [(c["id"], c["mode"]) for c in document["cases"]]


@pytest.mark.parametrize("workers", ["2", "5"])  # 5: more workers than cores, as waiting runs
def test_workers_give_the_same_outcomes_as_a_serial_run(tmp_path: Path, workers: str) -> None:
    for name, extra in (("serial", []), ("parallel", ["-n", workers])):
        args = [
            "run",
            "--client",
            "miniature:loses-error-code",
            *SELECTION,
            "--report",
            str(tmp_path / name),
            *extra,
        ]
        result = cli(args, catch_exceptions=False)
        assert result.exit_code == 1, result.output
    serial, parallel = _outcomes(tmp_path / "serial"), _outcomes(tmp_path / "parallel")
    assert len(serial) > 60
    assert parallel == serial
    assert _order(tmp_path / "parallel") == _order(tmp_path / "serial"), "report order differs"
    assert any(outcome == "failed" for outcome, _ in serial.values())
    assert (tmp_path / "parallel" / "junit.xml").read_text().count("<testcase") == len(serial)


def test_a_broken_adapter_still_exits_3_with_workers() -> None:
    result = cli(["run", "-n", "2", "--client", "tests.fixtures.adapters:no_call"])
    assert result.exit_code == 3
    assert "the adapter has no 'call'" in result.stderr


def test_a_live_run_refuses_workers() -> None:
    result = cli(["run", "-n", "2", "--mode", "live"])
    assert result.exit_code == 2
    assert "a live run cannot be split" in result.stderr


# (given -n, cases and properties selected, live, -k, cores, portal only) -> the -n handed on
# fmt: off
CHOICES = [
    (None, AUTO_MIN_ITEMS, False, None, 2, False, "4"),  # two per core: waits overlap work
    (None, 400, False, None, 16, False, str(AUTO_MAX_PROCESSES)),
    (None, 400, False, None, 2, True, str(AUTO_MAX_WAITING_PROCESSES)),  # sockets and sleeps
    (None, AUTO_MIN_ITEMS - 1, False, None, 2, False, None),  # too short to pay for workers
    (None, 400, True, None, 2, False, None),  # live: one budget, one cleanup
    (None, 400, False, "get.", 2, False, None),  # a -k selection is usually a handful of cases
    (None, 400, False, None, 1, False, None),  # one core: nothing to overlap on
    ("0", 400, False, None, 2, True, None),  # strictly serial, as asked
    (" 0 ", 400, False, None, 2, False, None),
    ("3", 5, False, "get.", 1, False, "3"),  # as asked
    ("auto", 5, False, None, 1, False, "auto"),
]
# fmt: on


@pytest.mark.parametrize(
    ("given", "items", "live", "keyword", "cores", "waiting", "expected"), CHOICES
)
def test_a_run_picks_its_worker_processes(
    given: str | None,
    items: int,
    live: bool,
    keyword: str | None,
    cores: int,
    waiting: bool,
    expected: str | None,
) -> None:
    chosen = choose_processes(
        given, items=items, live=live, keyword=keyword, cores=cores, waiting=waiting
    )
    assert chosen == expected, f"-n {given!r} over {items} items on {cores} cores"


def test_a_live_run_may_ask_to_be_serial() -> None:
    result = cli(["run", "-n", "0", "--mode", "live"])
    assert "a live run cannot be split" not in result.stderr


def test_a_worker_sets_what_it_prepared_apart_from_garbage_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker holds its modules, catalogue and client for the whole run: they are frozen
    once prepared, so no collection (nor the process's end) walks them again."""
    from conformance import plugin
    from conformance.config import build_config

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    cleanups: list[object] = []
    worker = SimpleNamespace(
        workerinput={plugin.WORKER_VALUES: dict(build_config({"mode": ("stub",)}).values)},
        add_cleanup=cleanups.append,
    )
    session = plugin._new_session(worker)  # type: ignore[arg-type]
    try:
        assert session.factory is not None, "the worker's session was not prepared"
        assert frozen == [True]
    finally:
        session.close()


@pytest.mark.parametrize("worker", [True, False], ids=["worker", "plain-pytest"])
def test_only_a_worker_takes_the_cassettes_as_checked(
    monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    """The controller checked every cassette the replay plays before it started the workers; a
    worker does not read them again, a session that nobody checked for does."""
    from conformance import _cassette_file, plugin
    from conformance.config import build_config

    read: list[int] = []
    monkeypatch.setattr(_cassette_file, "check_cassette_files", lambda files: read.append(1))
    values = dict(build_config({"mode": ("replay",)}).values)
    assert read == [1], "building a replay config read no cassette"
    read.clear()
    monkeypatch.setattr(gc, "freeze", lambda: None)
    if worker:
        config = SimpleNamespace(workerinput={plugin.WORKER_VALUES: values})
    else:
        monkeypatch.setattr(plugin, "_values", lambda config: values)
        config = SimpleNamespace(workerinput={})
    config.add_cleanup = lambda function: None  # type: ignore[attr-defined]
    session = plugin._new_session(config)  # type: ignore[arg-type]
    try:
        assert read == ([] if worker else [1])
    finally:
        session.close()


def test_a_run_sets_what_it_prepared_apart_from_collection_while_pytest_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The prepared heap is frozen for the run and given back after it, also when a process
    goes on (as this one does) after the run."""
    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    real_main = pytest.main

    def main(args: list[str], plugins: list[object]) -> int | pytest.ExitCode:
        calls.append("pytest")
        return real_main(args, plugins=plugins)

    monkeypatch.setattr(pytest, "main", main)
    result = cli(["run", "-q", "-n", "0", "--case", "get.not-found"])
    assert result.exit_code == 0, result.output
    assert calls == ["freeze", "pytest", "unfreeze"]
