"""The PHP harness harnesses/php-crest (the vendor's CRest 1.36, crest.php unchanged), driven
through the CLI in portal mode with TLS: it connects, speaks the protocol (validated both ways),
and shows CRest's defects exactly as baselines/crest.yaml states them.

It runs only where `php` with its cURL extension is on PATH (Debian: apt-get install php-cli
php-curl; .ci/run does). Without it the run says in one line that the PHP harness was not
tested; under CI=1 that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.fixtures.common import ROOT, cli

HARNESS = ROOT / "harnesses" / "php-crest"
BASELINE = ROOT / "baselines" / "crest.yaml"
NAME = "crest"
VERSION = "1.36"
CAPABILITIES = ["time", "total"]
#: what every case that gets an answer shows: CRest's log of the call, on the harness's stderr
LOGGED = "found in the log record of conformance.harness.stderr"

#: case id -> (outcome after the baseline, the checks that fail, a text the report must contain)
EXPECTED: dict[str, tuple[str, set[str], str]] = {
    # CRest logs every call, webhook URL included, and the harness hands the log on raw.
    "get.success": ("xfailed", {"behaviour.no-secret"}, LOGGED),
    "list.success-with-total": ("xfailed", {"behaviour.no-secret"}, LOGGED),
    # An error that is a list: TypeError inside callCurl (crest.php line 157), an errored case.
    "system.error-list": ("xfailed", set(), "TypeError: Illegal offset type in isset or empty"),
    # CURLOPT_POSTREDIR 10 keeps the POST on 302 only: the 301 is followed as a GET, no body.
    "transport.redirect-301": (
        "xfailed",
        {"behaviour.no-secret", "requests.params"},
        "(sent as none)",
    ),
    # A 307 keeps its POST and body in cURL: only the log fails it.
    "transport.redirect-307": ("xfailed", {"behaviour.no-secret"}, LOGGED),
    # json_decode($out, true): {} and [] are the same empty array, which the case accepts at
    # should (an empty list for an empty object); the log still fails it.
    "system.result-empty-object": (
        "xfailed",
        {"behaviour.no-secret", "outcome.payload"},
        "as an empty list, not as the empty object it came as",
    ),
    # An empty body decodes to null like a body that is not JSON.
    "transport.empty-body-200": (
        "xfailed",
        {"behaviour.no-secret", "outcome.failure-kind"},
        "'non-json'",
    ),
    # Nothing is retried.
    "retry.query-limit-exhausted": (
        "xfailed",
        {"behaviour.no-secret", "requests.count"},
        "at once instead of retrying",
    ),
    # Webhook mode only, and CRest returns no HTTP status: skipped, saying why.
    "auth.oauth-get-success": ("skipped", set(), "needs capability 'oauth'"),
    "system.access-denied-403": ("skipped", set(), "needs capability 'status'"),
}


@cache
def _missing_php() -> str | None:
    php = shutil.which("php")
    if php is None:
        return "php is not on PATH"
    probe = subprocess.run(
        [php, "-r", "exit(function_exists('curl_init') ? 0 : 1);"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return None if probe.returncode == 0 else "php has no cURL extension (php-curl)"


def _needs_php() -> None:
    missing = _missing_php()
    if missing is None:
        return
    message = (
        f"{missing}: the PHP harness (harnesses/php-crest) was not tested "
        "(Debian: apt-get install php-cli php-curl; .ci/run does)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must run it")
    pytest.skip(message)


def test_the_harness_runs_against_the_portal_as_its_baseline_says(tmp_path: Path) -> None:
    _needs_php()
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    listed = {entry["case"] for entry in baseline["expected_failures"]}
    for case_id, (outcome, _checks, _text) in EXPECTED.items():
        assert (case_id in listed) == (outcome == "xfailed"), case_id

    report = tmp_path / "report"
    args = [
        "run",
        "--client",
        f"cmd:php {shlex.quote(str(HARNESS / 'harness.php'))}",
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
    result = cli(args, catch_exceptions=False)
    assert result.exit_code == 0, result.output

    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["client"]["name"] == NAME
    assert document["client"]["version"] == VERSION
    assert document["client"]["capabilities"] == CAPABILITIES
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
    assert document["summary"]["skipped"] == wanted.count("skipped")


def _target(secret: str, auth_token: str | None) -> dict[str, object]:
    # Nothing listens on port 9: every call CRest makes fails to connect.
    return {
        "base_url": f"http://127.0.0.1:9/rest/1/{secret}/",
        "portal_url": "http://127.0.0.1:9/",
        "user_id": 1,
        "secret": secret,
        "auth_token": auth_token,
        "ca_bundle": None,
        "timeout": 2,
    }


def test_the_harness_hands_on_crests_log_raw_and_refuses_oauth() -> None:
    _needs_php()
    lines = [
        {"type": "start", "protocol": 1, "target": _target("s3cr3t-webhook", None)},
        {"type": "call", "seq": 1, "method": "crm.activity.badge.get", "params": {"code": "x"}},
        {"type": "start", "protocol": 1, "target": _target("s3cr3t-oauth", "t0ken")},
        {"type": "call", "seq": 2, "method": "crm.activity.badge.list", "params": {}},
        {"type": "stop"},
    ]
    process = subprocess.run(
        [shutil.which("php") or "php", str(HARNESS / "harness.php")],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    answers = [json.loads(line) for line in process.stdout.splitlines()]
    assert [a["type"] for a in answers] == ["started", "outcome", "started", "crash"]
    assert answers[0]["version"] == VERSION
    assert answers[1]["outcome"] == "transport-failure"
    assert answers[1]["kind"] == "connection"
    assert answers[1]["detail"].startswith("CRest curl_error: Failed to connect")
    assert "webhook mode only" in answers[3]["error"]
    # CRest's own log of the call, secret and all: redacting is the suite's job, not the harness's.
    logged = [line for line in process.stderr.splitlines() if line.startswith("crest wrote logs/")]
    assert len(logged) == 1, process.stderr
    assert "s3cr3t-webhook" in logged[0]
    assert "callCurl" in logged[0]


def test_the_harness_ships_crest_unchanged() -> None:
    source = (HARNESS / "SOURCE.md").read_text(encoding="utf-8")
    stated = re.search(r"sha256 of `crest.php` \([^)]*\): `([0-9a-f]{64})`", source)
    assert stated is not None, "SOURCE.md states no sha256 of crest.php"
    digest = hashlib.sha256((HARNESS / "crest.php").read_bytes()).hexdigest()
    assert digest == stated.group(1), "crest.php differs from the vendor's file SOURCE.md names"
    assert f"const VERSION = '{VERSION}';" in (HARNESS / "crest.php").read_text(encoding="utf-8")
    assert (HARNESS / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_the_proxy_fence_lets_crest_reach_every_address_of_the_portal() -> None:
    # The fence's proxy is dead: an address it covers fails to connect, so a redirect to the
    # portal's moved address would fail on our fence, not on CRest (an artefact of the suite).
    from conformance._network import LOOPBACK, MOVED_ADDRESSES

    source = (HARNESS / "harness.php").read_text(encoding="utf-8")
    fence = re.search(r"const LOOPBACK = '([^']*)';", source)
    assert fence is not None, "harness.php no longer defines LOOPBACK (its no_proxy list)"
    unfenced = set(fence.group(1).split(","))
    assert {*LOOPBACK, *MOVED_ADDRESSES} <= unfenced, sorted({*LOOPBACK} - unfenced)
