"""pytest plugin (entry point ``pytest11``: b24_conformance): a thin shell over conformance.session.

It registers options and fixtures; nothing runs unless the suite's own tests are collected
(``b24-conformance run`` or ``pytest --pyargs conformance``).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from conformance._network import network_guard
from conformance.baseline import EMPTY, BaselineError, load_baseline
from conformance.case import MODES
from conformance.engine import DEFAULT_DEADLINE, CaseResult
from conformance.live.budget import DEFAULT_BURST, DEFAULT_MAX_REQUESTS, DEFAULT_RATE
from conformance.session import (
    EXIT_ADAPTER_BROKEN,
    EXIT_USAGE,
    OUTCOMES,
    AdapterBroken,
    RunConfig,
    RunSession,
    UsageProblem,
)

SESSION_KEY = pytest.StashKey[RunSession]()
HOLDER_KEY = pytest.StashKey[Any]()
# pytest.exit inside collection becomes a collection error: hold it until collection ends.
EXIT_KEY = pytest.StashKey[tuple[str, int]]()


class Errored(Exception):
    """The adapter or the client crashed: reported as an error, apart from failures."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("b24-conformance", "Bitrix24 badge conformance suite")
    group.addoption(
        "--b24-client",
        default="reference",
        help="adapter: reference, miniature:NAME or package.module:factory",
    )
    group.addoption(
        "--b24-mode",
        action="append",
        choices=(*MODES, "live"),
        help="transport; repeat for several (default: stub, replay, portal; live: a real "
        "portal from B24_WEBHOOK_URL)",
    )
    group.addoption(
        "--b24-case", action="append", default=[], help="run only this case id; repeatable"
    )
    group.addoption(
        "--b24-report", default=None, help="write report.json, report.md and junit.xml here"
    )
    group.addoption(
        "--b24-baseline", default=None, help="YAML file of the client's expected failures"
    )
    group.addoption(
        "--b24-baseline-update",
        default=None,
        help="write a baseline of this run's failures here (new entries marked for review)",
    )
    group.addoption("--b24-seed", type=int, default=None, help="seed for generated inputs")
    group.addoption(
        "--b24-profile",
        default="wire",
        choices=("docs", "wire"),
        help="contract profile (default: wire)",
    )
    group.addoption("--b24-tls", action="store_true", help="serve portal mode over https")
    group.addoption(
        "--b24-hypothesis-profile",
        default="ci",
        choices=("dev", "ci", "live"),
        help="hypothesis profile of the generated-input properties (default: ci)",
    )
    group.addoption(
        "--b24-validate-protocol",
        action="store_true",
        help="validate every harness message both ways (cmd: clients)",
    )
    group.addoption("--b24-no-properties", action="store_true", help="run the fixed cases only")
    group.addoption(
        "--b24-allow-writes",
        action="store_true",
        help="live mode: run the stateful cases, which add and delete prefixed badges",
    )
    group.addoption(
        "--b24-budget-rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"live mode: requests per second after the burst (default: {DEFAULT_RATE:g})",
    )
    group.addoption(
        "--b24-budget-burst",
        type=int,
        default=DEFAULT_BURST,
        help=f"live mode: the portal's bucket size (default: {DEFAULT_BURST})",
    )
    group.addoption(
        "--b24-max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        help=f"live mode: requests one run may make (default: {DEFAULT_MAX_REQUESTS})",
    )
    group.addoption("--b24-record", default=None, help="live mode: write cassettes here")
    group.addoption("--b24-run-id", default=None, help="live mode: the run id in code prefixes")
    group.addoption(
        "--b24-cassettes", default=None, help="replay mode: play the cassettes in this directory"
    )
    group.addoption(
        "--b24-deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        help="seconds a client call may take",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    report = config.getoption("--b24-report", None)
    if report and not getattr(config.option, "xmlpath", None):
        # junitxml reads this option in its own pytest_configure, which runs after ours.
        config.option.xmlpath = str(Path(report) / "junit.xml")


def _config(config: pytest.Config) -> RunConfig:
    baseline_path = config.getoption("--b24-baseline")
    report = config.getoption("--b24-report")
    try:
        baseline = load_baseline(baseline_path) if baseline_path else EMPTY
    except BaselineError as exc:
        raise UsageProblem(str(exc)) from None
    modes = tuple(config.getoption("--b24-mode") or MODES)
    cassettes = config.getoption("--b24-cassettes")
    return RunConfig(
        client=config.getoption("--b24-client"),
        modes=modes,
        report_dir=Path(report) if report else None,
        baseline=baseline,
        seed=config.getoption("--b24-seed"),
        profile=config.getoption("--b24-profile"),
        deadline=config.getoption("--b24-deadline"),
        case_ids=tuple(config.getoption("--b24-case")),
        tls=config.getoption("--b24-tls"),
        hypothesis_profile=config.getoption("--b24-hypothesis-profile"),
        validate_protocol=config.getoption("--b24-validate-protocol"),
        properties=not config.getoption("--b24-no-properties"),
        live=_live_settings(config) if "live" in modes else None,
        cassettes=Path(cassettes) if cassettes else None,
        baseline_update=_baseline_update(config),
    )


def _baseline_update(config: pytest.Config) -> Path | None:
    """--b24-baseline-update FILE; an existing FILE must be a baseline (its reasons are kept)."""
    target = config.getoption("--b24-baseline-update")
    if not target:
        return None
    if Path(target).is_file() and not config.getoption("--b24-baseline"):
        try:
            load_baseline(target, option="--baseline-update")
        except BaselineError as exc:
            raise UsageProblem(str(exc)) from None
    return Path(target)


def _live_settings(config: pytest.Config) -> Any:
    from conformance.live.budget import BudgetSettings
    from conformance.live.run import LiveSettings

    record = config.getoption("--b24-record")
    try:
        budget = BudgetSettings(
            rate=config.getoption("--b24-budget-rate"),
            burst=config.getoption("--b24-budget-burst"),
            max_requests=config.getoption("--b24-max-requests"),
        )
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    holder = config.stash.get(HOLDER_KEY, None)
    return LiveSettings(
        allow_writes=config.getoption("--b24-allow-writes"),
        budget=budget,
        record_dir=Path(record) if record else None,
        run_id=config.getoption("--b24-run-id"),
        tls=config.getoption("--b24-tls"),
        # The CLI hands --base-url over in process: a secret never goes through argv twice.
        base_url=getattr(holder, "base_url", None),
    )


def _session(config: pytest.Config) -> RunSession | None:
    if EXIT_KEY in config.stash:
        return None
    if _is_worker(config) and "live" in (config.getoption("--b24-mode") or ()):
        # A live run keeps one budget, one prefix and one cleanup: it cannot be split.
        config.stash[EXIT_KEY] = (
            "usage error: --mode live runs in one process, without -n",
            EXIT_USAGE,
        )
        return None
    if SESSION_KEY not in config.stash:
        try:
            session = RunSession(_config(config))
            # Registered first: a live run interrupted while it prepares still cleans up.
            config.add_cleanup(session.close)
            session.prepare()
        except UsageProblem as exc:
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
    metafunc.parametrize("b24_item", pairs, ids=[f"{mode}-{item}" for item, mode in pairs])


def pytest_collection_modifyitems(config: pytest.Config) -> None:
    if EXIT_KEY in config.stash:
        message, code = config.stash[EXIT_KEY]
        pytest.exit(message, returncode=code)


@pytest.fixture
def b24_result(request: pytest.FixtureRequest, b24_item: tuple[str, str]) -> CaseResult:
    """Runs the case or property in setup; an escaped exception is an error, not a failure."""
    item, mode = b24_item
    session = _session(request.config)
    assert session is not None, "the run was not prepared"
    result = session.run(item, mode)
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
    run = RunSession(_config(config))
    for part in exported:
        run.absorb(part)
    config.stash[SESSION_KEY] = run
    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
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
    holder = session.config.stash.get(HOLDER_KEY, None)
    if holder is not None:
        holder.session = run
    run.close()
    if run.config.report_dir is not None:
        from conformance.reports import write_reports

        write_reports(run, run.config.report_dir, secrets=run.secrets)
    if run.config.baseline_update is not None:
        run.update_baseline(run.config.baseline_update)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = run.exit_code()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(SESSION_KEY, None)
    if run is None or (not run.results and run.live is None):
        return
    writer = terminalreporter
    writer.section("b24-conformance")
    version = f" {run.client_version}" if run.client_version else ""
    writer.line(
        f"client {run.adapter_name!r}{version} ({run.config.client}), profile {run.config.profile}"
    )
    for line in run.baseline_lines():
        writer.line(line)
    header = f"{'mode':<8}" + "".join(f"{o:>9}" for o in OUTCOMES)
    writer.line(header)
    for mode in run.config.modes:
        counts = {
            o: sum(1 for r in run.results if r.mode == mode and r.outcome == o) for o in OUTCOMES
        }
        writer.line(f"{mode:<8}" + "".join(f"{counts[o]:>9}" for o in OUTCOMES))
    failing = [r for r in run.results if r.outcome in ("failed", "errored")]
    for result in failing[:20]:
        first = result.message.splitlines()[0] if result.message else ""
        writer.line(f"{result.outcome.upper():<8} {result.mode}-{result.case_id}: {first}")
    if len(failing) > 20:
        writer.line(f"... and {len(failing) - 20} more (see report.md or run with -v)")
    for problem in run.baseline_problems:
        writer.line(f"baseline problem: {problem}", red=True)
    if run.live is not None:
        for line in run.live.summary_lines():
            writer.line(line, red=line.startswith("live problem"))
    if run.config.report_dir is not None:
        writer.line(f"reports written to {run.config.report_dir}")
