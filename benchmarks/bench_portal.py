"""Fake portal throughput on loopback, against a bare werkzeug app (not a test: run it by hand).

    python benchmarks/bench_portal.py [--seconds S] [--badges N] [--clients 1,8]

Each server runs in its own process on the portal's server stack (werkzeug's threaded server
with the portal's quiet handler): the stateful portal answering ``crm.activity.badge.list``
(bucket off, operating limiter on), and a hello-world WSGI app. For each number of
concurrent clients (threads, one requests.Session each) it prints requests per second for
both and the portal/bare ratio (target: >= 85% at 8 clients). Rounds alternate between the
two servers and the median round is reported, so background load on the machine skews neither side;
the server processes' CPU time per request is printed too, as it does not depend on load.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

HELLO = b'{"result":"hello"}'


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(HELLO)))]
    )
    return [HELLO]


def _answer_cpu_queries() -> None:
    # Every line on stdin asks for the process's CPU seconds so far; EOF ends the server.
    for _line in sys.stdin:
        print(time.process_time(), flush=True)


def serve(kind: str, badges: int) -> None:
    """Child process: start one server, print the URL to call, then answer CPU queries."""
    from conformance._http_server import ServerThread
    from conformance.portal import FakePortal

    if kind == "portal":
        portal = FakePortal(bucket=None).start()
        for number in range(badges):
            badge = {"code": f"b24c-bench-{number}", "title": "Bench", "value": "Mark"}
            portal.store.add({**badge, "type": "primary"}, admin=True)
        print(portal.webhook_url() + "crm.activity.badge.list.json", flush=True)
        _answer_cpu_queries()
        portal.stop()
    else:
        server = ServerThread(hello)
        server.start()
        path = "rest/1/secret/crm.activity.badge.list.json"
        print(f"http://127.0.0.1:{server.port}/{path}", flush=True)
        _answer_cpu_queries()
        server.stop()


def measure(url: str, clients: int, seconds: float) -> tuple[float, int]:
    """Requests per second that ``clients`` threads get answered within ``seconds``, and
    how many requests that was."""
    counts = [0] * clients
    failures: list[str] = []
    stop = threading.Event()

    def client(index: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            response = session.post(url, json={}, timeout=10)
            if response.status_code != 200:
                failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"benchmark call failed: {failures[0]}")
    return sum(counts) / elapsed, sum(counts)


def server_cpu(child: subprocess.Popen[str]) -> float:
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.write("cpu\n")
    child.stdin.flush()
    return float(child.stdout.readline())


def compare(levels: list[int], seconds: float, rounds: int, badges: int) -> dict[str, Any]:
    """Median req/s of the portal and of bare werkzeug per concurrency level, and the server
    CPU per request of each (which does not depend on load elsewhere on the machine)."""
    children = {
        kind: subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--badges", str(badges)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for kind in ("portal", "hello")
    }
    results: dict[tuple[str, int], list[float]] = {}
    cpu_per_request: dict[str, list[float]] = {}
    try:
        urls = {}
        for kind, child in children.items():
            assert child.stdout is not None
            urls[kind] = child.stdout.readline().strip()
            measure(urls[kind], 1, 0.5)  # warm up
        # Rounds alternate between the two servers so that load from elsewhere on the
        # machine hits both alike; the median of the rounds is reported.
        for clients in levels:
            for _ in range(rounds):
                for kind, url in urls.items():
                    before = server_cpu(children[kind])
                    rate, count = measure(url, clients, seconds)
                    spent = server_cpu(children[kind]) - before
                    results.setdefault((kind, clients), []).append(rate)
                    cpu_per_request.setdefault(kind, []).append(spent / count)
    finally:
        for child in children.values():
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=30)
    figures: dict[str, Any] = {}
    for clients in levels:
        portal = results["portal", clients]
        bare = results["hello", clients]
        figures[f"clients_{clients}"] = {
            "portal_req_per_s": round(statistics.median(portal)),
            "bare_req_per_s": round(statistics.median(bare)),
            "portal_over_bare": round(statistics.median(portal) / statistics.median(bare), 3),
            "ratio_spread": [
                round(min(p / b for p, b in zip(portal, bare, strict=True)), 3),
                round(max(p / b for p, b in zip(portal, bare, strict=True)), 3),
            ],
        }
    figures["server_cpu_us_per_request"] = {
        "portal": round(statistics.median(cpu_per_request["portal"]) * 1e6),
        "bare": round(statistics.median(cpu_per_request["hello"]) * 1e6),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per level")
    parser.add_argument("--badges", type=int, default=3, help="badges the listed portal holds")
    parser.add_argument("--clients", default="1,8", help="comma-separated concurrency levels")
    parser.add_argument("--serve", choices=("portal", "hello"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve, options.badges)
        return

    levels = [int(n) for n in options.clients.split(",")]
    figures = compare(levels, options.seconds, options.rounds, options.badges)
    print(f"{'clients':>7}  {'portal req/s':>12}  {'bare req/s':>10}  {'ratio':>6}")
    for clients in levels:
        level = figures[f"clients_{clients}"]
        print(
            f"{clients:>7}  {level['portal_req_per_s']:>12}  {level['bare_req_per_s']:>10}  "
            f"{level['portal_over_bare']:>6.0%}"
        )
    cpu = figures["server_cpu_us_per_request"]
    print(
        f"server CPU per request: portal {cpu['portal']} us, bare {cpu['bare']} us "
        f"(bare/portal {cpu['bare'] / cpu['portal']:.0%})"
    )


if __name__ == "__main__":
    main()
