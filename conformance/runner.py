"""Run the suite for a validated RunConfig: prepare the session here, then let pytest drive it.

The session (client loaded, smoke call made, live gateway started) reaches the plugin as a
plugin object, so no option travels through pytest's argv and back; pytest-xdist workers get
the configuration's option values through their ``workerinput``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final

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

SUITE_DIR: Final = Path(__file__).parent / "suite"


class RunPlugin:
    """A prepared RunSession for the pytest plugin; notes whether the run was interrupted."""

    def __init__(self, session: RunSession) -> None:
        self.session = session
        #: SIGINT or SIGTERM ended the run (pytest's own INTERRUPTED is also what
        #: pytest.exit(returncode=2) looks like, so it cannot tell)
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.interrupted = isinstance(excinfo.value, KeyboardInterrupt)


def pytest_args(
    *, verbose: int = 0, keyword: str | None = None, processes: str | None = None
) -> list[str]:
    """The pytest command line of a run: the bundled suite, quiet, and what the user chose."""
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
        ("--tb=no", "--tb=line", "--tb=short")[min(verbose, 2)],
        "--show-capture=no",
        # The CLI imported the package before pytest could mark it for assertion rewriting.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-v" if verbose else "-q",
    ]
    if keyword:
        args += ["-k", keyword]
    if processes is not None:
        args += ["-p", "xdist", "-n", processes]
    return args


def run_suite(
    config: RunConfig,
    *,
    verbose: int = 0,
    keyword: str | None = None,
    processes: str | None = None,
) -> int:
    """Run the suite for ``config`` and return the exit code; UsageError for bad usage."""
    import pytest

    if processes is not None and "live" in config.modes:
        raise UsageError("--numprocesses: a live run cannot be split over processes")
    session = RunSession(config)
    plugin = RunPlugin(session)
    try:
        try:
            session.prepare()
        except AdapterBroken as exc:
            print(f"the adapter is broken: {exc}", file=sys.stderr)
            if config.report_dir is not None:
                from conformance.reports import write_reports

                write_reports(session, config.report_dir, secrets=session.secrets)
            return EXIT_ADAPTER_BROKEN
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        for line in session.smoke_lines():
            print(line, file=sys.stderr)
        if config.live is not None:
            writes = "writes allowed" if config.live.allow_writes else "read-only"
            prefix = run_prefix(config.live.run_id or "")
            print(f"live: {writes}; codes of this run start with {prefix}", file=sys.stderr)
        code = int(
            pytest.main(
                pytest_args(verbose=verbose, keyword=keyword, processes=processes), plugins=[plugin]
            )
        )
    finally:
        session.close()
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return session.exit_code()
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise UsageError(f"no case matches -k {keyword!r}" if keyword else "no case selected")
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if plugin.interrupted:
        return EXIT_INTERRUPTED
    return code
