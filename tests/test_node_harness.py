"""harnesses/node-b24jssdk (the official JS SDK @bitrix24/b24jssdk on Node.js) driven through the
CLI in portal mode with TLS: it connects, speaks the protocol (validated both ways), and shows
the SDK's known defects exactly as baselines/b24jssdk.yaml states them.

Runs only where Node.js, npm and the harness's installed dependencies are present
(`npm ci --prefix harnesses/node-b24jssdk`, which .ci/run does); skipped otherwise, saying why.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main

ROOT = Path(__file__).resolve().parent.parent
HARNESS_DIR = ROOT / "harnesses" / "node-b24jssdk"
HARNESS = HARNESS_DIR / "harness.mjs"
BASELINE = ROOT / "baselines" / "b24jssdk.yaml"
SDK_VERSION = "2.2.0"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    if shutil.which("npm") is None:
        return "npm is not on PATH"
    if not (HARNESS_DIR / "node_modules").is_dir():
        return "harnesses/node-b24jssdk/node_modules is missing: npm ci --prefix harnesses/node-b24jssdk"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")

# case id -> (outcome after the baseline, the checks that fail, a text the report must contain)
EXPECTED: dict[str, tuple[str, set[str], str]] = {
    # A plain success passes: the SDK's own bx24_* query params are not parameters the
    # controller reads, so the request still carries exactly the caller's params.
    "get.success": ("passed", set(), ""),
    # A numeric Bitrix code under HTTP 400 becomes axios's code.
    "get.missing-code-100": ("xfailed", {"outcome.code"}, "actual:   'ERR_BAD_REQUEST'"),
    # A string code under HTTP 200 is kept: the api-error mapping itself works.
    "system.error-with-200": ("passed", set(), ""),
    # Every 503 is retried, OVERLOAD_LIMIT included.
    "system.overload-limit-503": ("xfailed", {"requests.count"}, "actual:   3 request(s)"),
    # An HTML 502 page is an AjaxError like an API error.
    "transport.html-502": (
        "xfailed",
        {"outcome.kind"},
        "ApiError(code='ERR_BAD_RESPONSE', status=502)",
    ),
    # A JSON null body: a TypeError inside the SDK, reported as a crash (an errored case).
    "transport.json-null-body": ("xfailed", set(), "an exception escaped the adapter"),
    # A dropped connection is a connection transport failure, as it should be.
    "transport.connection-reset": ("passed", set(), ""),
    # No OAuth in webhook mode: the capability is not declared, so the case is skipped.
    "auth.oauth-get-success": ("skipped", set(), "needs capability 'oauth'"),
}


def test_the_b24jssdk_harness_runs_against_the_tls_portal_as_the_baseline_says(
    tmp_path: Path,
) -> None:
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    listed = {entry["case"] for entry in baseline["expected_failures"]}
    for case_id, (outcome, _checks, _text) in EXPECTED.items():
        assert (case_id in listed) == (outcome == "xfailed"), case_id

    report = tmp_path / "report"
    args = [
        "run",
        "--client",
        f"cmd:node {shlex.quote(str(HARNESS))}",
        "--mode",
        "portal",
        "--tls",
        "--validate-protocol",
        "--no-properties",
        "--baseline",
        str(BASELINE),
        "--report",
        str(report),
    ]
    for case_id in EXPECTED:
        args += ["--case", case_id]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output

    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["client"]["name"] == "b24jssdk"
    assert document["client"]["capabilities"] == ["retry", "status", "time", "total"]
    assert document["baseline_problems"] == []
    cases = {case["id"]: case for case in document["cases"]}
    assert set(cases) == set(EXPECTED)
    for case_id, (outcome, checks, text) in EXPECTED.items():
        case = cases[case_id]
        assert case["mode"] == "portal"
        assert (case["outcome"], set(case["checks"])) == (outcome, checks), case["message"]
        assert text in case["message"], case["message"]
    wanted = [outcome for outcome, _checks, _text in EXPECTED.values()]
    assert document["summary"]["xfailed"] == wanted.count("xfailed")
    assert document["summary"]["passed"] == wanted.count("passed")


def test_the_harness_pins_the_sdk_exactly() -> None:
    package = json.loads((HARNESS_DIR / "package.json").read_text(encoding="utf-8"))
    assert package["dependencies"] == {"@bitrix24/b24jssdk": SDK_VERSION}
    lock = json.loads((HARNESS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@bitrix24/b24jssdk"]["version"] == SDK_VERSION
    installed = HARNESS_DIR / "node_modules" / "@bitrix24" / "b24jssdk" / "package.json"
    assert json.loads(installed.read_text(encoding="utf-8"))["version"] == SDK_VERSION
