"""pytest plugin (entry point ``pytest11``: b24_conformance): a thin shell over conformance.session.

It registers options and fixtures; nothing runs unless the suite's own tests are collected
(``b24-conformance run`` or ``pytest --pyargs conformance``).
"""

from __future__ import annotations

import gc
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from conformance._network import network_guard
from conformance.api import Redactor
from conformance.case import adopt_catalogue, catalogue_handoff
from conformance.config import RUN_OPTIONS, build_config
from conformance.errors import EXIT_ADAPTER_BROKEN, EXIT_USAGE, AdapterBroken, UsageError
from conformance.reports import levels_line
from conformance.results import CaseResult
from conformance.runner import RunPlugin
from conformance.schedule import spread
from conformance.session import RunSession
from conformance.smoke import SmokeFindings
from conformance.terminal import Line
from conformance.terminal import summary_lines as terminal_lines

SESSION_KEY = pytest.StashKey[RunSession]()
# pytest.exit inside collection becomes a collection error: hold it until collection ends.
EXIT_KEY = pytest.StashKey[tuple[str, int]]()
#: The run's report.json document (redacted), built once for the reports and the summary.
DOCUMENT_KEY = pytest.StashKey[dict[str, Any]]()
#: The key of a run's option values in a pytest-xdist worker's ``workerinput``.
WORKER_VALUES = "b24_values"
#: ... of what the controller's smoke call found, and of the case catalogue it read.
WORKER_SMOKE = "b24_smoke"
WORKER_CASES = "b24_cases"
PREFIX = "--b24-"
#: pytest's own default of -r: what plain pytest shows when the user asked for nothing else.
DEFAULT_REPORTCHARS = "fE"


class Errored(Exception):
    """The adapter or the client crashed: reported as an error, apart from failures."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``--b24-*`` options: the same table as ``b24-conformance run``'s."""
    group = parser.getgroup("b24-conformance", "Bitrix24 badge conformance suite")
    for option in RUN_OPTIONS:
        flag = PREFIX + option.name
        if option.kind == "flag":
            group.addoption(flag, action="store_true", help=option.help)
        elif option.kind == "multiple":
            group.addoption(flag, action="append", default=[], help=option.help)
        else:
            converter = {"int": int, "float": float}.get(option.kind, str)
            group.addoption(flag, type=converter, default=option.default, help=option.help)


def _values(config: pytest.Config) -> dict[str, Any]:
    return {option.dest: config.getoption(PREFIX + option.name) for option in RUN_OPTIONS}


def _run_plugin(config: pytest.Config) -> RunPlugin | None:
    """The run the CLI prepared and handed in as a plugin object, if it did."""
    plugins = config.pluginmanager.get_plugins()
    return next((plugin for plugin in plugins if isinstance(plugin, RunPlugin)), None)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist controller: a worker rebuilds the run's configuration from its values."""
    plugin = _run_plugin(node.config)
    if plugin is not None:
        node.workerinput[WORKER_VALUES] = dict(plugin.session.config.values)
        # The controller smoke-tested the client and read the catalogue already: a worker
        # takes both instead of doing them again.
        node.workerinput[WORKER_SMOKE] = plugin.session.smoke_findings()
        node.workerinput[WORKER_CASES] = catalogue_handoff()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    plugin = _run_plugin(config)
    report = (
        plugin.session.config.report_dir
        if plugin is not None
        else config.getoption("--b24-report", None)
    )
    if report and not getattr(config.option, "xmlpath", None):
        # junitxml reads this option in its own pytest_configure, which runs after ours.
        config.option.xmlpath = str(Path(report) / "junit.xml")


def _new_session(config: pytest.Config) -> RunSession:
    """The session of a run that the CLI did not prepare: plain pytest, or an xdist worker."""
    workerinput = getattr(config, "workerinput", {})
    worker_values = workerinput.get(WORKER_VALUES)
    if worker_values is not None:
        # The controller built the same config from the same values moments ago, reading and
        # checking every cassette file on the way; each worker doing it again cost 0.05 s.
        run_config = build_config(worker_values, cassettes_checked=True)
    else:
        run_config = build_config(_values(config), prefix=PREFIX)
    if WORKER_CASES in workerinput:
        adopt_catalogue(workerinput[WORKER_CASES])
    smoked = workerinput.get(WORKER_SMOKE)
    session = RunSession(run_config)
    # Registered first: a live run interrupted while it prepares still cleans up.
    config.add_cleanup(session.close)
    session.prepare(None if smoked is None else _findings(smoked))
    if worker_values is not None:
        # A worker process lives for this run only, and what it holds now (modules, the
        # catalogue, the client) lives as long: no garbage collection need look at it again,
        # during the run nor as the process ends.
        gc.freeze()
    return session


def _findings(smoked: dict[str, Any]) -> SmokeFindings:
    return SmokeFindings(
        adapter_name=smoked["adapter_name"],
        capabilities=frozenset(smoked["capabilities"]),
        skipped_modes=dict(smoked["skipped_modes"]),
        problem=smoked["problem"],
        version=smoked["version"],
    )


def _session(config: pytest.Config) -> RunSession | None:
    if EXIT_KEY in config.stash:
        return None
    if _is_worker(config) and "live" in (config.getoption("--b24-mode") or ()):
        # A live run keeps one budget, one prefix and one cleanup: it cannot be split.
        config.stash[EXIT_KEY] = (
            "usage error: --b24-mode live runs in one process, without -n",
            EXIT_USAGE,
        )
        return None
    if SESSION_KEY not in config.stash:
        plugin = _run_plugin(config)
        try:
            if plugin is not None and not _is_worker(config):
                session = plugin.session
            else:
                session = _new_session(config)
        except UsageError as exc:
            config.stash[EXIT_KEY] = (f"usage error: {exc}", EXIT_USAGE)
            return None
        except AdapterBroken as exc:
            config.stash[EXIT_KEY] = (f"the adapter is broken: {exc}", EXIT_ADAPTER_BROKEN)
            return None

        config.stash[SESSION_KEY] = session
        # Nothing a client does during the run may leave the machine (but for the live
        # portal's host, which the live gateway calls).
        guard = ExitStack()
        guard.enter_context(network_guard(session.allowed_hosts))
        config.add_cleanup(guard.close)
    return config.stash[SESSION_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "b24_result" not in metafunc.fixturenames:
        return
    session = _session(metafunc.config)
    pairs = session.selected() if session is not None else []
    workers = getattr(metafunc.config, "workerinput", {}).get("workercount", 1)
    # Workers take the long items first; the report keeps the run's order (sort_results).
    pairs = spread(pairs, workers)
    metafunc.parametrize("b24_item", pairs, ids=[f"{mode}-{item}" for item, mode in pairs])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if EXIT_KEY not in config.stash:
        return
    if _is_worker(config):
        message, code = config.stash[EXIT_KEY]
        pytest.exit(message, returncode=code)
    # pytest.exit would wrap the message in its own "! _pytest.outcomes.Exit: ... !" line:
    # run nothing instead, and say it in one line when the session finishes.
    items.clear()


@pytest.fixture
def b24_result(request: pytest.FixtureRequest, b24_item: tuple[str, str]) -> CaseResult:
    """Runs the case or property in setup; an escaped exception is an error, not a failure."""
    item, mode = b24_item
    session = _session(request.config)
    assert session is not None, "the run was not prepared"
    result = session.run(item, mode)
    # junit.xml carries each verdict's level (a should shortfall fails only under --strict).
    request.node.user_properties.append(("level", result.level))
    if result.outcome == "errored":
        raise Errored(result.message)
    return result


WORKER_RESULTS_KEY = pytest.StashKey[list[dict[str, Any]]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: keep what each worker's session found, for the reports."""
    exported = getattr(node, "workeroutput", {}).get("b24")
    if exported is not None:
        node.config.stash.setdefault(WORKER_RESULTS_KEY, []).append(exported)


def _controller_session(config: pytest.Config) -> RunSession | None:
    """Under pytest-xdist the controller collects nothing: it rebuilds the run from workers."""
    exported = config.stash.get(WORKER_RESULTS_KEY, [])
    if not exported:
        return None
    plugin = _run_plugin(config)
    run = (
        plugin.session
        if plugin is not None
        else RunSession(build_config(_values(config), prefix=PREFIX))
    )
    for part in exported:
        run.absorb(part)
    run.sort_results()
    config.stash[SESSION_KEY] = run
    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if EXIT_KEY in config.stash and not _is_worker(config):
        message, code = config.stash[EXIT_KEY]
        print(message, file=sys.stderr)
        session.exitstatus = code
        # pytest's "no tests ran" would otherwise follow the one line that says why.
        config.option.verbose = -2
        return
    run = config.stash.get(SESSION_KEY, None)
    if _is_worker(config):
        if run is not None:
            run.close()
            config.workeroutput["b24"] = run.export()  # type: ignore[attr-defined]
        return
    if run is None:
        run = _controller_session(config)
    if run is None:
        return
    run.close()
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        run.interrupted = True
    from conformance.reports import redacted_document, write_reports

    document = config.stash[DOCUMENT_KEY] = redacted_document(run, run.secrets)
    plugin = _run_plugin(config)
    if plugin is not None:
        plugin.document = document
    if run.config.report_dir is not None:
        write_reports(run, run.config.report_dir, secrets=run.secrets, document=document)
    if run.config.baseline_update is not None:
        run.update_baseline(run.config.baseline_update)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = run.exit_code()


@pytest.hookimpl(wrapper=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """``run -v``: one line per case (``FAILED   stub-get.not-found: [outcome.code] ...``)
    instead of pytest's node ids, which name the suite's files."""
    status = yield
    plugin = _run_plugin(config)
    label = _case_label(report.nodeid)
    category, letter, word = status
    if plugin is None or plugin.verbose != 1 or label is None or not (letter or word):
        return status
    detail = _first_line(report)
    writer = config.pluginmanager.get_plugin("terminalreporter")
    if writer is not None:
        text = f"{category.upper():<8} {label}" + (f": {detail}" if detail else "")
        writer.write_line(text, red=category in ("failed", "error"))
    return category, "", ""


def _case_label(nodeid: str) -> str | None:
    """``stub-get.not-found`` of the suite's ``test_case[stub-get.not-found]``."""
    name = nodeid.rpartition("::")[2]
    if not (name.startswith("test_case[") and name.endswith("]")):
        return None
    return name.removeprefix("test_case[")[:-1]


def _first_line(report: pytest.TestReport) -> str:
    if report.passed:
        return ""
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    lines = report.longreprtext.strip().splitlines()
    return lines[0] if lines else ""


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The suite's summary: the last thing on screen under ``b24-conformance run``."""
    run = config.stash.get(SESSION_KEY, None)
    document = config.stash.get(DOCUMENT_KEY, None)
    if run is None or document is None or (not run.results and run.live is None):
        return
    plugin = _run_plugin(config)
    if plugin is None and config.option.reportchars == DEFAULT_REPORTCHARS:
        # Plain pytest: the suite's summary groups the failures; pytest's short summary would
        # repeat each one after it. An explicit -r keeps it.
        terminalreporter.reportchars = ""
    verbose = plugin.verbose if plugin is not None else config.get_verbosity()
    if verbose < 0 and plugin is not None:
        return  # -q: the runner says the one line after pytest is done
    if plugin is None:
        terminalreporter.section("b24-conformance")
    for line in summary_lines(run, document, verbose, prefix="--" if plugin else PREFIX):
        terminalreporter.line(line.text, red=line.bad)


def summary_lines(
    run: RunSession, document: dict[str, Any], verbose: int, *, prefix: str = "--"
) -> list[Line]:
    """The run's terminal summary, baseline problems and the live run's lines included."""
    extra = [Line(line) for line in run.baseline_lines()]
    extra.append(Line(levels_line(run.level_summary(), strict=run.config.strict)))
    if prefix != "--":  # plain pytest; the CLI said these on stderr already
        extra += [Line(line) for line in run.smoke_lines()]
    extra += [Line(f"baseline problem: {problem}", bad=True) for problem in run.baseline_problems]
    if run.live is not None:
        extra += [
            Line(text, bad=text.startswith("live problem")) for text in run.live.summary_lines()
        ]
    redact = Redactor(run.secrets)
    return [
        Line(redact(line.text), line.bad)
        for line in terminal_lines(
            document,
            report_dir=run.config.report_dir,
            verbose=verbose,
            prefix=prefix,
            extra=extra,
        )
    ]
