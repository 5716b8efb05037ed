"""Workers forked from one process that imported the suite (conformance._forkserver): each
runs execnet's code as a fresh interpreter would, with the launcher's streams, directory,
environment and status; a run's workers are such forks; without a fork server, xdist starts
them itself."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import _forkserver
from conformance.runner import pytest_args
from tests.fixtures.common import cli

pytestmark = pytest.mark.skipif(
    not _forkserver.available(), reason="workers are forked where fork is the platform's way"
)

_WORKER_CODE = """
import os, sys
print(sys.stdin.readline().strip().upper())
print(os.getcwd())
print(os.environ.get("B24_TEST_MARK"))
print("conformance.plugin" in sys.modules)
print(sys.argv)
print("to stderr", file=sys.stderr)
sys.exit(3)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[_forkserver.ForkServer]:
    with _forkserver.running(preload=["conformance.plugin"]) as running:
        assert running is not None, "the fork server did not start"
        yield running


def _launch(server: _forkserver.ForkServer, code: str) -> list[str]:
    return [*shlex.split(server.launcher), "-u", "-c", code]


def test_a_worker_runs_its_code_as_a_fresh_interpreter_would(
    server: _forkserver.ForkServer, tmp_path: Path
) -> None:
    done = subprocess.run(
        _launch(server, _WORKER_CODE),
        input="hello\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "B24_TEST_MARK": "marked"},
        timeout=30,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == ["HELLO", str(tmp_path), "marked", "True", "['-c']"]
    assert done.stderr == "to stderr\n"


def test_a_signal_sent_to_the_launcher_reaches_its_worker(
    server: _forkserver.ForkServer,
) -> None:
    code = "import sys, time; print('started', flush=True); time.sleep(60)"
    launcher = subprocess.Popen(_launch(server, code), stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout is not None
        assert launcher.stdout.readline() == "started\n"
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        launcher.kill()
        launcher.wait()
        if launcher.stdout is not None:
            launcher.stdout.close()


def test_workers_start_as_xdist_starts_them_when_the_fork_server_cannot(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _forkserver.running(preload=["conformance.no_such_module"]) as running:
        assert running is None
    assert "note: the workers start without the fork server (ModuleNotFoundError" in (
        capsys.readouterr().err
    )


def test_the_workers_of_a_run_are_forks_of_the_fork_server(tmp_path: Path) -> None:
    result = cli(
        ["run", "-q", "-n", "2", "--client", "tests.fixtures.where_client:factory",
         "--case", "get.not-found", "--case", "get.success"],
        env={"B24_TEST_WHERE": str(tmp_path)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    parents = {int(p.name): p.read_text() for p in tmp_path.iterdir()}
    workers = {pid: parent for pid, parent in parents.items() if pid != os.getpid()}
    assert workers, f"no worker made a client: {parents}"
    for pid, parent in workers.items():
        assert "conformance._forkserver import serve" in parent, f"worker {pid}: {parent}"


def test_forked_workers_are_asked_of_xdist_by_their_launcher() -> None:
    with _forkserver.running(preload=[]) as running:
        assert running is not None
        args = pytest_args(processes="3", forked=running)
    at = args.index("--tx")
    assert args[at + 1] == f"3*popen//python={running.launcher}"
    assert "-n" not in args
    assert pytest_args(processes="3")[-4:] == ["-n", "3", "--dist", "worksteal"]


def test_the_fork_server_imports_what_the_run_imports(tmp_path: Path) -> None:
    """It takes the controller's import path, as xdist gives its workers: a module found
    only through that path is the one it preloads."""
    (tmp_path / "only_here.py").write_text("")
    code = "import only_here, sys; print(only_here.__file__)"
    with _sys_path(str(tmp_path)), _forkserver.running(preload=["only_here"]) as running:
        assert running is not None, "the fork server could not import from the run's path"
        done = subprocess.run(
            _launch(running, code), capture_output=True, text=True, timeout=30, check=False
        )
    assert done.stdout.strip() == str(tmp_path / "only_here.py"), done.stderr


@contextlib.contextmanager
def _sys_path(entry: str) -> Iterator[None]:
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        sys.path.remove(entry)
        sys.modules.pop("only_here", None)


def test_a_long_temporary_directory_gives_way_to_a_short_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A UNIX socket's path holds at most 107 bytes; a long TMPDIR does not leave the run
    without forked workers."""
    long_dir = tmp_path / ("d" * 60) / ("e" * 60)
    long_dir.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))
    with _forkserver.running(preload=[]) as running:
        assert running is not None, "no fork server under a long TMPDIR"
        assert len(running.address) < 108
    assert list(long_dir.iterdir()) == []
