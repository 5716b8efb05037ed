"""Live runs end to end against the fake portal standing in for a live one: a run completes,
cleans up after itself (also after SIGINT, and with sweep after SIGKILL), reports its
requests and the drift, records cassettes that replay, and leaks no planted secret anywhere."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conformance._cassette_file import check_cassette_files
from conformance.cassettes import lint
from conformance.portal import FakePortal, Fault
from tests.fixtures.live import cli, codes, env, live_portal, webhook_env

#: What the fake portal shows of the drift ledger against the newest docs revision
#: (time.integer-seconds needs a newer portal's integer start; the fake portal sends floats).
KNOWN_DRIFT = {"error.numeric-code"}
WRITE_DRIFT = {"add.app-context"}
#: What it showed against the older revision, which the newest docs have closed.
CLOSED_DRIFT = {"list.total", "status.auth-errors-401", "badge.text-language-map"}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_live_run_with_writes_completes_reports_and_leaves_nothing(tmp_path: Path) -> None:
    with live_portal() as portal:
        result = cli(
            ["run", "--mode", "live", "--allow-writes", "--report", str(tmp_path)],
            webhook_env(portal),
        )
        left = codes(portal)
        answers = [r for r in portal.requests if "/rest/" in r.url]
    assert result.exit_code == 0, result.output
    report = _json(tmp_path / "report.json")
    assert report["mode"] == "live"
    assert report["summary"]["passed"] == 9
    assert report["summary"]["failed"] == 0
    live = _json(tmp_path / "live.json")
    assert live["requests"]["query_limit_exceeded"] == 0
    assert live["requests"]["to_portal"] == len(answers) == live["budget"]["requests_made"]
    assert live["cleanup"]["leftovers"] == []
    assert left == []
    assert len(live["cleanup"]["created"]) == 5
    assert all(code.startswith(live["prefix"]) for code in live["cleanup"]["created"])
    assert re.fullmatch(r"b24ct-[0-9a-f]{8}-", live["prefix"])
    assert f"live: {len(answers)} requests to the portal" in result.output
    assert "0 QUERY_LIMIT_EXCEEDED" in result.output
    assert len((tmp_path / "live.log").read_text().splitlines()) == len(answers)
    drift = {entry["id"]: entry for entry in _json(tmp_path / "drift.json")["entries"]}
    assert set(drift) >= KNOWN_DRIFT | WRITE_DRIFT
    assert not set(drift) & CLOSED_DRIFT
    assert not [i for i in drift if i.startswith("unlisted:")], "the fake portal holds no news"
    assert drift["error.numeric-code"]["observations"][0]["first_case"] == "live.get-without-code"
    closed = {entry["id"] for entry in _json(tmp_path / "drift.json")["closed"]}
    assert closed >= CLOSED_DRIFT
    markdown = (tmp_path / "drift.md").read_text()
    for entry_id in KNOWN_DRIFT:
        assert f"| {entry_id} |" in markdown
    assert "Closed by the docs" in markdown


def test_a_read_only_run_never_writes(tmp_path: Path) -> None:
    with live_portal() as portal:
        result = cli(["run", "--mode", "live", "--report", str(tmp_path)], webhook_env(portal))
        methods = {r.url.rsplit("/", 1)[-1] for r in portal.requests}
    assert result.exit_code == 0, result.output
    assert methods == {"crm.activity.badge.list.json", "crm.activity.badge.get.json"}
    skipped = [c for c in _json(tmp_path / "report.json")["cases"] if c["outcome"] == "skipped"]
    assert {c["id"] for c in skipped} == {
        "state.add-get-list-delete",
        "state.language-map-round-trip",
        "state.duplicate-code",
        "state.delete-twice",
        "state.first-error-only",
    }
    assert all("--allow-writes" in c["message"] for c in skipped)
    drift = {entry["id"] for entry in _json(tmp_path / "drift.json")["entries"]}
    assert drift >= KNOWN_DRIFT


def test_without_admin_rights_the_write_cases_are_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    with live_portal() as portal:
        portal.add_user(2, secrets.token_hex(8), admin=False)
        result = cli(
            ["run", "--mode", "live", "--allow-writes", "--report", str(tmp_path)],
            webhook_env(portal, user_id=2),
        )
    assert result.exit_code == 0, result.output
    cases = {c["id"]: c for c in _json(tmp_path / "report.json")["cases"]}
    assert cases["live.list"]["outcome"] == "passed"
    state = [c for i, c in cases.items() if i.startswith("state.")]
    assert state
    assert all(c["outcome"] == "skipped" for c in state)
    assert all("ACCESS_DENIED" in c["message"] for c in state)


def test_an_oauth_run_and_the_request_cap(tmp_path: Path) -> None:
    with live_portal() as portal:
        portal.add_token("oauth-token-0123456789", 1)
        variables = env(B24_PORTAL_URL=portal.url, B24_AUTH_TOKEN="oauth-token-0123456789")
        result = cli(["run", "--mode", "live", "--allow-writes"], variables)
        capped = cli(
            ["run", "--mode", "live", "--max-requests", "2", "--report", str(tmp_path)], variables
        )
        bearer = [
            r for r in portal.requests if r.headers.get("Authorization", "").startswith("Bearer")
        ]
    assert result.exit_code == 0, result.output
    assert re.search(r"^live +9 +0 ", result.output, re.MULTILINE), result.output
    assert bearer
    assert capped.exit_code == 0, capped.output
    skipped = [c for c in _json(tmp_path / "report.json")["cases"] if c["outcome"] == "skipped"]
    assert any("request budget is spent (2 requests" in c["message"] for c in skipped)
    assert _json(tmp_path / "live.json")["budget"]["requests_made"] == 2


def test_a_portal_breaking_the_wire_profile_fails_the_run_as_the_portals_fault(
    tmp_path: Path,
) -> None:
    with live_portal() as portal:
        secret = portal.directory.user(1).secret
        # after=1: the pre-flight list passes; the case's list meets the proxy page.
        portal.inject(Fault.html(502), method="crm.activity.badge.list", after=1)
        portal.inject(Fault.status(200, "NOT_FOUND", "Not found"), method="crm.activity.badge.get")
        broken = cli(["run", "--mode", "live", "--report", str(tmp_path)], webhook_env(portal))
        elsewhere = f"https://moved.b24-conformance.invalid/rest/1/{secret}/x.json"
        portal.inject(Fault.redirect(elsewhere), method="crm.activity.badge.list", after=1)
        moved = cli(["run", "--mode", "live", "--case", "live.list"], webhook_env(portal))
    assert broken.exit_code == 1, broken.output
    cases = {c["id"]: c for c in _json(tmp_path / "report.json")["cases"]}
    assert "portal.wire" in cases["live.list"]["checks"]
    assert "the portal answered with a body that is not JSON" in cases["live.list"]["message"]
    assert "portal.wire" in cases["live.get-unknown"]["checks"]
    assert "the portal's answer breaks the wire profile" in cases["live.get-unknown"]["message"]
    assert "a failure of the portal, not of the client" in cases["live.get-unknown"]["message"]
    assert cases["live.get-without-code"]["outcome"] == "passed"
    assert moved.exit_code == 1, moved.output
    assert "live problem: the portal redirected to another address" in moved.output
    assert secret not in moved.output
    assert "1 refused by the gateway" in moved.output


def _scan(files: list[Path], planted: list[str]) -> list[str]:
    forms = {form for value in planted for form in (value, quote(value, safe=""))}
    return [
        f"{path.name}: {form[:4]}..."
        for path in files
        for form in forms
        if form in path.read_bytes().decode("utf-8", errors="replace")
    ]


def test_recording_leaks_no_planted_secret_and_the_cassettes_replay(tmp_path: Path) -> None:
    secret, token = "cnry" + secrets.token_hex(8), "tokcnry" + secrets.token_hex(10)
    member = "member" + secrets.token_hex(8)
    logs = tmp_path / "logs"
    logs.mkdir()
    with live_portal() as portal:
        portal.add_user(1, secret, admin=True, login="admin")
        portal.add_token(token, 1)
        hook = env(B24_WEBHOOK_URL=portal.webhook_url(), B24_MEMBER_ID=member)
        oauth = env(B24_PORTAL_URL=portal.url, B24_AUTH_TOKEN=token, B24_MEMBER_ID=member)
        host = portal.url.split("//")[1].rstrip("/")
        runs = {
            "record-webhook": (
                [
                    "record",
                    "--out",
                    str(tmp_path / "hook"),
                    "--allow-writes",
                    "--report",
                    str(tmp_path / "hook-report"),
                ],
                hook,
            ),
            "record-oauth": (
                [
                    "record",
                    "--out",
                    str(tmp_path / "oauth"),
                    "--allow-writes",
                    "--report",
                    str(tmp_path / "oauth-report"),
                ],
                oauth,
            ),
            # Clients that put the secret in exception texts and logs, and fail cases, so
            # the reports carry messages and reproduction lines.
            "leaky-exception": (
                [
                    "run",
                    "--mode",
                    "live",
                    "--client",
                    "miniature:leaks-secret-in-exception",
                    "--report",
                    str(tmp_path / "leaky-report"),
                    "-vv",
                ],
                hook,
            ),
            "leaky-log": (
                [
                    "run",
                    "--mode",
                    "live",
                    "--client",
                    "miniature:logs-secret",
                    "--report",
                    str(tmp_path / "log-report"),
                    "-vv",
                ],
                hook,
            ),
            "wrong-code": (
                [
                    "run",
                    "--mode",
                    "live",
                    "--client",
                    "miniature:loses-error-code",
                    "--allow-writes",
                    "--report",
                    str(tmp_path / "failing-report"),
                ],
                oauth,
            ),
        }
        exits = {}
        for name, (arguments, variables) in runs.items():
            result = cli(arguments, variables)
            exits[name] = result.exit_code
            (logs / f"{name}.log").write_text(result.output, encoding="utf-8")
        left = codes(portal)
    assert exits["record-webhook"] == exits["record-oauth"] == 0, exits
    assert exits["wrong-code"] == 1
    # The leaky clients did put the secret into exception texts and log records in process:
    leaked = _json(tmp_path / "log-report" / "report.json")["cases"]
    assert any("behaviour.no-secret" in c["checks"] for c in leaked)
    assert "a secret leaked" in (tmp_path / "leaky-report" / "report.md").read_text()
    failing = _json(tmp_path / "failing-report" / "report.json")["cases"]
    reproduction = next(c["reproduction"] for c in failing if c["outcome"] == "failed")
    assert "Authorization: Bearer ***" in reproduction
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) > 40
    assert {p.suffix for p in written} >= {".yaml", ".json", ".md", ".xml", ".log"}
    assert _scan(written, [secret, token, member]) == []
    cassettes = sorted(tmp_path.glob("*/*.yaml"))
    assert len(cassettes) == 18
    assert _scan(cassettes, [host]) == [], "the portal's address is scrubbed from cassettes"
    assert list(lint(cassettes, (secret, token, member))) == []
    provenance = (tmp_path / "hook" / "live.list.yaml").read_text()
    assert "origin: live recording" in provenance
    assert "sha256: " in provenance, "recordings are checksummed like the catalogue's cassettes"
    check_cassette_files(cassettes)
    assert "recorded: '20" in provenance
    assert left == []
    for directory in ("hook", "oauth"):
        replayed = cli(["run", "--mode", "replay", "--cassettes", str(tmp_path / directory)], env())
        assert replayed.exit_code == 0, replayed.output
        assert re.search(r"^replay +9 +0 ", replayed.output, re.MULTILINE), replayed.output


def _live_subprocess(portal: FakePortal, report: Path) -> subprocess.Popen[str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("B24_")}
    variables["B24_WEBHOOK_URL"] = portal.webhook_url()
    # Paced (8 requests/s, no burst), so the test can catch the run while its badges exist.
    command = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--mode",
        "live",
        "--allow-writes",
        "--budget-rate",
        "8",
        "--budget-burst",
        "1",
        "--report",
        str(report),
    ]
    return subprocess.Popen(
        command, env=variables, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(
    ("signum", "cleaned_by_the_run"),
    [(signal.SIGINT, True), (signal.SIGTERM, True), (signal.SIGKILL, False)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_an_interrupted_run_plus_sweep_leaves_zero_leftovers(
    tmp_path: Path, signum: int, cleaned_by_the_run: bool
) -> None:
    with live_portal() as portal:
        process = _live_subprocess(portal, tmp_path)
        deadline = time.monotonic() + 30
        while not any(c.startswith("b24ct-") for c in codes(portal)):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run created no badge"
            time.sleep(0.01)
        during = codes(portal)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
        after_run = codes(portal)
        prefix = during[0][: len("b24ct-") + 9]
        assert f"codes of this run start with {prefix}" in err
        swept = cli(["sweep", "--prefix", prefix], webhook_env(portal))
        after_sweep = codes(portal)
    assert swept.exit_code == 0, swept.output
    assert after_sweep == []
    if cleaned_by_the_run:
        assert process.returncode == 130, out + err
        assert after_run == [], "the run's finalizer deleted what it had created"
        assert "0 badge(s) removed" in swept.output
        live = _json(tmp_path / "live.json")
        assert live["cleanup"]["leftovers"] == []
        assert live["cleanup"]["created"]
    else:
        assert after_run, "SIGKILL leaves no chance to clean up"
        assert [f"removed {c}" for c in after_run] == swept.output.splitlines()[: len(after_run)]
