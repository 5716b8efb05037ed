"""Run the suite for a validated RunConfig: prepare the session here, then let pytest drive it.

The session (client loaded, smoke call made, live gateway started) reaches the plugin as a
plugin object, so no option travels through pytest's argv and back; pytest-xdist workers get
the configuration's option values through their ``workerinput``.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from conformance import _forkserver
from conformance._forkserver import ForkServer
from conformance.config import RunConfig
from conformance.errors import (
    EXIT_ADAPTER_BROKEN,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    AdapterBroken,
    UsageError,
)
from conformance.live.cases import run_prefix
from conformance.session import RunSession
from conformance.terminal import one_line

SUITE_DIR: Final = Path(__file__).parent / "suite"

#: A run that names no ``-n`` spreads over worker processes from this many cases and
#: properties up: below it, starting the workers (each imports the suite and makes its own
#: smoke call) costs more than overlapping the cases' waits saves.
AUTO_MIN_ITEMS: Final = 60
#: Workers per core: one to keep the core busy, one more to run while another only waits
#: (retry backoffs, stalled portals: a third of the default run's serial time is sleeping).
AUTO_PROCESSES_PER_CORE: Final = 2
#: ... and at most this many: past it, the workers' own start-up costs more CPU than it saves.
AUTO_MAX_PROCESSES: Final = 4
#: A run whose every mode is the fake portal spends its time on real sockets and the client's
#: own sleeps (fast-bitrix24 against its baseline: 6 s of CPU in 114 s): one portal per worker,
#: up to this many workers whatever the cores.
AUTO_MAX_WAITING_PROCESSES: Final = 8


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_processes(
    requested: str | None,
    *,
    items: int,
    live: bool,
    keyword: str | None,
    cores: int | None = None,
    waiting: bool = False,
) -> str | None:
    """The ``-n`` a run hands pytest-xdist; None for a strictly serial run.

    ``-n 0`` is serial, any other ``-n`` is kept as given. Without one, a run of at least
    AUTO_MIN_ITEMS cases on a machine with more than one core uses AUTO_PROCESSES_PER_CORE
    workers per core (at most AUTO_MAX_PROCESSES; ``waiting``, a run that only talks to the
    fake portal, at most AUTO_MAX_WAITING_PROCESSES); a live run, a ``-k`` selection and a
    short run stay serial.
    """
    if requested is not None:
        return None if requested.strip() == "0" else requested
    cores = _cores() if cores is None else cores
    most = AUTO_MAX_WAITING_PROCESSES if waiting else AUTO_MAX_PROCESSES
    if live or keyword or items < AUTO_MIN_ITEMS or cores < 2:
        return None
    if waiting:
        return str(most)
    return str(min(cores * AUTO_PROCESSES_PER_CORE, most))


class RunPlugin:
    """A prepared RunSession for the pytest plugin; notes whether the run was interrupted."""

    def __init__(self, session: RunSession, verbose: int = 0) -> None:
        self.session = session
        #: -1 for -q (one line), 0, 1 for -v, 2 for -vv
        self.verbose = verbose
        #: the run's redacted report.json document, once the session finished
        self.document: dict[str, Any] | None = None
        #: SIGINT or SIGTERM ended the run (pytest's own INTERRUPTED is also what
        #: pytest.exit(returncode=2) looks like, so it cannot tell)
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.interrupted = isinstance(excinfo.value, KeyboardInterrupt)
        self.session.interrupted = self.session.interrupted or self.interrupted


def pytest_args(
    *,
    verbose: int = 0,
    keyword: str | None = None,
    processes: str | None = None,
    forked: ForkServer | None = None,
) -> list[str]:
    """The pytest command line of a run: the bundled suite and what the user chose.

    pytest shows progress only (-v: a line per case; -vv: its own full output as well); the
    suite's summary (conformance.terminal) is the last thing on screen, so pytest's own
    summary sections and its count line are off. ``forked``: the workers are forks of that
    fork server (conformance._forkserver), for a number of ``processes``.
    """
    args = [
        "--pyargs",
        "conformance.suite",
        "-c",
        str(SUITE_DIR / "pytest.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "-p",
        "no:cacheprovider",
        "--no-header",
        "--show-capture=no",
        # The suite's one test fails with pytest.fail, never a bare assert: rewriting asserts
        # would only re-compile every module of each pytest11 plugin's distribution (the whole
        # of hypothesis, this package) in every process, uncached where bytecode is not written.
        "--assert=plain",
        # Its end-of-run garbage collections (twice per process, over every object the run
        # made) only turn a finalizer's exception into a pytest warning, which a run never shows.
        "-p",
        "no:unraisableexception",
    ]
    if verbose >= 2:
        args += ["-v", "--tb=short", "-rN"]
    else:
        # -v's line per case comes from the plugin (pytest_report_teststatus).
        args += ["-qq", "-rN", "--tb=no"]
    if keyword:
        args += ["-k", keyword]
    if processes is not None:
        # Cases differ a hundredfold in length (retry backoffs, stalls, properties): idle
        # workers take work from busy ones instead of waiting on their fixed share.
        workers = ["--tx", forked.tx(int(processes))] if forked else ["-n", processes]
        args += ["-p", "xdist", *workers, "--dist", "worksteal"]
    return args


def _quietly(run: Callable[[], int]) -> int:
    """Run pytest with its output held back (-q), shown on stderr only when pytest broke."""
    import pytest

    held = io.StringIO()
    with contextlib.redirect_stdout(held):
        code = run()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        sys.stderr.write(held.getvalue())
    return code


def run_suite(
    config: RunConfig,
    *,
    verbose: int = 0,
    keyword: str | None = None,
    processes: str | None = None,
) -> int:
    """Run the suite for ``config`` and return the exit code; UsageError for bad usage."""
    import pytest

    live = "live" in config.modes
    if processes is not None and processes.strip() != "0" and live:
        raise UsageError("--numprocesses: a live run cannot be split over processes")
    session = RunSession(config)
    plugin = RunPlugin(session, verbose)
    try:
        refused = _prepare(session)
        if refused is not None:
            return refused
        processes = choose_processes(
            processes,
            items=len(session.selected()),
            live=live,
            keyword=keyword,
            waiting=set(config.modes) == {"portal"},
        )
        with _fork_server(processes) as forked, _prepared_heap_frozen():
            args = pytest_args(verbose=verbose, keyword=keyword, processes=processes, forked=forked)
            if verbose < 0:
                code = _quietly(lambda: int(pytest.main(args, plugins=[plugin])))
            else:
                code = int(pytest.main(args, plugins=[plugin]))
    finally:
        session.close()
    for warning in session.harness_warnings():
        print(f"warning: {warning}", file=sys.stderr)
    if verbose < 0 and plugin.document is not None:
        print(one_line(plugin.document, config.report_dir).text)
    return _exit_code(code, session, plugin, keyword)


@contextlib.contextmanager
def _prepared_heap_frozen() -> Iterator[None]:
    """What the run has prepared (the suite's modules, the catalogue, the client) lives until
    it ends: the oldest generation's collections leave it alone meanwhile (they cost a serial
    default run 0.36 s of CPU, 0.15-0.18 s with it frozen), and take it back afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _fork_server(processes: str | None) -> Iterator[ForkServer | None]:
    """A fork server for a run of a number of worker processes (``-n auto`` is pytest-xdist's
    to count); None for a serial run, or where workers cannot be forked."""
    if processes is None or not processes.strip().isdigit():
        yield None
        return
    with _forkserver.running() as server:
        yield server


def _prepare(session: RunSession) -> int | None:
    """Load the client and smoke-test it; the exit code when the run cannot go on, else None."""
    config = session.config
    try:
        session.prepare()
    except AdapterBroken as exc:
        print(f"the adapter is broken: {exc}", file=sys.stderr)
        if config.report_dir is not None:
            from conformance.reports import write_reports

            write_reports(session, config.report_dir, secrets=session.secrets)
        return EXIT_ADAPTER_BROKEN
    except KeyboardInterrupt:
        print("interrupted before the first case ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in session.smoke_lines():
        print(line, file=sys.stderr)
    if config.live is not None:
        writes = "writes allowed" if config.live.allow_writes else "read-only"
        prefix = run_prefix(config.live.run_id or "")
        print(f"live: {writes}; codes of this run start with {prefix}", file=sys.stderr)
    return None


def _exit_code(code: int, session: RunSession, plugin: RunPlugin, keyword: str | None) -> int:
    """The run's exit code from pytest's and the session's."""
    import pytest

    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return session.exit_code()
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise UsageError(f"no case matches -k {keyword!r}" if keyword else "no case selected")
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if plugin.interrupted:
        return EXIT_INTERRUPTED
    return code
