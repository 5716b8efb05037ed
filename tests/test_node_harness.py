"""The Node.js harnesses, each driven through the CLI in portal mode: it connects, speaks the
protocol (validated both ways), and shows its client's known defects exactly as its baseline
states them.

- harnesses/node-b24jssdk: the official JS SDK @bitrix24/b24jssdk (portal mode with TLS);
- harnesses/node-2bad-bitrix: @2bad/bitrix (got, p-queue, qs).

Each runs only where Node.js, npm and the harness's installed dependencies are present
(`npm ci --prefix harnesses/<name>`, which .ci/run does); skipped otherwise, saying why.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.fixtures.common import ROOT, cli


@dataclass(frozen=True)
class NodeHarness:
    directory: str
    baseline: str
    #: the npm package the harness pins, and its exact version
    package: str
    version: str
    name: str
    capabilities: list[str]
    options: tuple[str, ...]
    #: case id -> (outcome after the baseline, the checks that fail, a text the report must contain)
    expected: dict[str, tuple[str, set[str], str]]

    @property
    def path(self) -> Path:
        return ROOT / "harnesses" / self.directory


HARNESSES = {
    "node-b24jssdk": NodeHarness(
        "node-b24jssdk",
        "b24jssdk.yaml",
        "@bitrix24/b24jssdk",
        "2.2.0",
        "b24jssdk",
        ["retry", "status", "time", "total"],
        ("--tls",),
        {
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
        },
    ),
    "node-2bad-bitrix": NodeHarness(
        "node-2bad-bitrix",
        "2bad-bitrix.yaml",
        "@2bad/bitrix",
        "2.5.1",
        "2bad-bitrix",
        ["oauth", "retry", "status", "time", "total"],
        (),
        {
            # A GET with a qs query string decodes to the caller's params.
            "get.success": ("passed", set(), ""),
            "list.success-with-total": ("passed", set(), ""),
            # Under HTTP 400 the harness reads the code got's HTTPError keeps: it passes.
            "get.not-found": ("passed", set(), ""),
            # Under HTTP 200 the client's own Error keeps the code's text, but not the status.
            "system.error-with-200": ("xfailed", {"outcome.status"}, "actual:   status=None"),
            # qs sends a boolean as "true"; the portal's REQUIRED_ARG_MISSING is read from got's
            # HTTPError, so only the request fails.
            "add.boolean-value-required": ("xfailed", {"requests.params"}, '"value": "true"'),
            # The access token never reaches the request (the hook looks for options.path).
            "auth.oauth-get-success": ("xfailed", {"requests.auth"}, "token via nothing"),
            # A JSON null body: a TypeError in handlePayload, reported as a crash (errored).
            "transport.json-null-body": ("xfailed", set(), "an exception escaped the adapter"),
            # A dropped connection is a connection transport failure, as it should be.
            "transport.connection-reset": ("passed", set(), ""),
        },
    ),
}


def _missing(harness: NodeHarness) -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    if shutil.which("npm") is None:
        return "npm is not on PATH"
    if not (harness.path / "node_modules").is_dir():
        prefix = f"harnesses/{harness.directory}"
        return f"{prefix}/node_modules is missing: npm ci --prefix {prefix}"
    return None


def _needs_node(harness: NodeHarness) -> None:
    missing = _missing(harness)
    if missing is not None:
        pytest.skip(missing)


@pytest.mark.parametrize("key", HARNESSES)
def test_the_harness_runs_against_the_portal_as_its_baseline_says(key: str, tmp_path: Path) -> None:
    harness = HARNESSES[key]
    _needs_node(harness)
    baseline_path = ROOT / "baselines" / harness.baseline
    baseline = yaml.safe_load(baseline_path.read_text(encoding="utf-8"))
    listed = {entry["case"] for entry in baseline["expected_failures"]}
    for case_id, (outcome, _checks, _text) in harness.expected.items():
        assert (case_id in listed) == (outcome == "xfailed"), case_id

    report = tmp_path / "report"
    args = [
        "run",
        "--client",
        f"cmd:node {shlex.quote(str(harness.path / 'harness.mjs'))}",
        "--mode",
        "portal",
        *harness.options,
        "--validate-protocol",
        "--no-properties",
        "--baseline",
        str(baseline_path),
        "--report",
        str(report),
    ]
    for case_id in harness.expected:
        args += ["--case", case_id]
    result = cli(args, catch_exceptions=False)
    assert result.exit_code == 0, result.output

    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["client"]["name"] == harness.name
    assert document["client"]["capabilities"] == harness.capabilities
    assert document["baseline_problems"] == []
    cases = {case["id"]: case for case in document["cases"]}
    assert set(cases) == set(harness.expected)
    for case_id, (outcome, checks, text) in harness.expected.items():
        case = cases[case_id]
        assert case["mode"] == "portal"
        assert (case["outcome"], set(case["checks"])) == (outcome, checks), case["message"]
        assert text in case["message"], case["message"]
    wanted = [outcome for outcome, _checks, _text in harness.expected.values()]
    assert document["summary"]["xfailed"] == wanted.count("xfailed")
    assert document["summary"]["passed"] == wanted.count("passed")


@pytest.mark.parametrize("key", HARNESSES)
def test_the_harness_pins_its_client_exactly(key: str) -> None:
    harness = HARNESSES[key]
    package = json.loads((harness.path / "package.json").read_text(encoding="utf-8"))
    assert package["dependencies"] == {harness.package: harness.version}
    lock = json.loads((harness.path / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][f"node_modules/{harness.package}"]["version"] == harness.version
    _needs_node(harness)
    installed = harness.path / "node_modules" / harness.package / "package.json"
    assert json.loads(installed.read_text(encoding="utf-8"))["version"] == harness.version
