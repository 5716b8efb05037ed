"""`b24-conformance portal` for people: how to stop it, and -v request lines without secrets."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest
import requests

from conformance.portal import FakePortal, Fault

# Characters that clients escape differently in a path: a space, a plus, a non-ASCII letter.
SECRET = "cli secret+\u00e9"
BADGE = {"code": "cli-verbose", "title": "T", "value": "V", "type": "success"}


def _start(*options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.portal.command", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _webhook(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    assert ready, "the portal command printed nothing within 30 s"
    return process.stdout.readline().strip()


def test_verbose_prints_a_line_per_request_with_the_secret_redacted() -> None:
    process = _start("--secret", SECRET, "--user-id", "7", "-v")
    try:
        webhook = _webhook(process)
        base = webhook.split("rest/")[0]
        added = requests.post(webhook + "crm.activity.badge.add.json", json=BADGE, timeout=5)
        assert added.status_code == 200
        # The same secret escaped another way, and a wrong one (which may be shown).
        escaped = f"{base}rest/7/{quote(SECRET, safe='')}/crm.activity.badge.get.json"
        assert requests.post(escaped, json={"code": "cli-verbose"}, timeout=5).status_code == 200
        wrong = f"{base}rest/7/wrong/crm.activity.badge.list.json"
        assert requests.get(wrong, params={"auth": "query-token"}, timeout=5).status_code != 200
    finally:
        out, err = _stop(process)
    assert process.returncode == 0, err
    assert out == ""
    assert err.splitlines() == [
        f"serving {base} until interrupted: Ctrl-C to stop",
        "POST /rest/7/***/crm.activity.badge.add.json 200",
        "POST /rest/7/***/crm.activity.badge.get.json 200",
        "GET /rest/7/wrong/crm.activity.badge.list.json 401",
    ]
    for form in (SECRET, quote(SECRET, safe=""), quote_plus(SECRET), "query-token"):
        assert form not in err


def test_without_verbose_only_the_stop_hint_reaches_stderr() -> None:
    process = _start("--secret", "quiet-secret")
    try:
        webhook = _webhook(process)
        requests.post(webhook + "crm.activity.badge.list.json", json={}, timeout=5)
    finally:
        out, err = _stop(process)
    assert out == ""
    assert err.splitlines() == [
        f"serving {webhook.split('rest/')[0]} until interrupted: Ctrl-C to stop"
    ]


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.html(502), 502), (Fault.reset(), None)], ids=["html", "reset"]
)
def test_the_answer_hook_sees_method_path_and_status(fault: Fault, status: int | None) -> None:
    seen: list[tuple[str, str, int | None]] = []
    with FakePortal(on_answer=lambda *call: seen.append(call)) as portal:
        portal.inject(fault, method="crm.activity.badge.list", times=1)
        url = portal.webhook_url() + "crm.activity.badge.list.json"
        try:
            requests.post(url + "?auth=x", json={}, timeout=5)
        except requests.ConnectionError:
            assert status is None
        requests.post(url, json={}, timeout=5)
        secret = portal.directory.user(1).secret
    path = f"/rest/1/{secret}/crm.activity.badge.list.json"
    assert seen == [("POST", path, status), ("POST", path, 200)]
