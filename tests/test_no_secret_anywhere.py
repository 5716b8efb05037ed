"""A planted canary: a client leaks its secrets in every form on every channel; the run fails
``behaviour.no-secret`` and nothing the suite prints or writes holds any of them."""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.common import ROOT
from tests.fixtures.leaky_client import planted_forms

CASES = ("get.success", "list.success-with-total")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}")


def _hidden_base64(text: str, secret: bytes) -> bool:
    """Whether any base64-looking run of ``text`` decodes, at any alignment, to the secret."""
    for run in BASE64_RUN.findall(text):
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    if secret in decode(chunk):
                        return True
                except (binascii.Error, ValueError):
                    continue
    return False


def _leaks(text: str, secrets: list[str]) -> list[str]:
    found = []
    for secret in secrets:
        found += [form for form in planted_forms(secret) if form in text]
        if _hidden_base64(text, secret.encode()):
            found.append(f"base64 of {secret[:3]}...")
    return found


def _run(command: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    planted = tmp_path / "planted.txt"
    env = os.environ | {"B24_TEST_PLANTED": str(planted), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    # The smoke call's stand-ins ("0" * 16, "smoke-token") are no secrets: the factory is
    # called with them outside any case, and what it prints then is not watched.
    secrets = sorted(set(planted.read_text().split()) - {"0" * 16, "smoke-token"})
    assert len(secrets) >= 4, f"the client was not called: {done.stdout}\n{done.stderr}"
    return done, secrets


def _artifacts(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text(errors="replace")
        for path in directory.rglob("*")
        if path.is_file() and path.name != "planted.txt"
    }


def test_the_run_fails_no_secret_and_writes_no_secret(tmp_path: Path) -> None:
    report = tmp_path / "report"
    selection = [word for case in CASES for word in ("--case", case)]
    command = [sys.executable, "-m", "conformance", "run", "-vv", "--report", str(report)]
    command += ["--client", "tests.fixtures.leaky_client:factory", *selection]
    done, secrets = _run(command, tmp_path)
    assert done.returncode == 1, done.stderr
    channels = {"stdout": done.stdout, "stderr": done.stderr, **_artifacts(report)}
    leaks = {name: _leaks(text, secrets) for name, text in channels.items()}
    assert not any(leaks.values()), {name: found for name, found in leaks.items() if found}
    assert "behaviour.no-secret" in channels["report.json"]
    for channel in ("stdout", "stderr", "warning UserWarning", "log record", "traceback in"):
        assert f"found in the {channel}" in channels["report.md"], channel


def test_plain_pytest_shows_no_secret_in_captured_output_or_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider"]
    command += ["--b24-client", "tests.fixtures.leaky_client:factory", "--b24-case", CASES[1]]
    command += ["-rA", "--tb=long", "-W", "default", f"--junitxml={junit}"]
    command += ["-o", "junit_logging=all", "-o", "log_level=DEBUG"]
    done, secrets = _run(command, tmp_path)
    assert done.returncode == 1, done.stdout
    channels = {"stdout": done.stdout, "stderr": done.stderr, "junit.xml": junit.read_text()}
    leaks = {name: _leaks(text, secrets) for name, text in channels.items()}
    assert not any(leaks.values()), {name: found for name, found in leaks.items() if found}
    # The client's prints reach pytest's capture (and so junit), redacted.
    assert "stdout ***" in channels["junit.xml"], "the captured output is not in junit.xml"


@pytest.mark.parametrize("offset", range(3))
def test_the_hidden_base64_finder_finds_every_alignment(offset: int) -> None:
    secret = "0123456789abcdef"
    text = base64.b64encode(b"x" * offset + secret.encode() + b"tail").decode()
    assert _hidden_base64(text, secret.encode())
    assert not _hidden_base64(text, b"fedcba9876543210")
