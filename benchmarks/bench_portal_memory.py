"""Memory the fake portal keeps after large POSTs (not a test: run it by hand).

    python benchmarks/bench_portal_memory.py [--posts 12] [--megabytes 30]

Sends POSTs of the given size to a stateful FakePortal in this process and prints what its
request log keeps, Python's traced memory (tracemalloc) and the process RSS before and after.
It exits 1 when the log keeps more than its bounds allow (one body limit per POST, never more
than the total limit) or traced memory grew by more than that plus 16 MiB: bytes, not time.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc

import requests

MIB = 1024 * 1024


def rss() -> int:
    """Resident set size of this process now, in bytes (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=12)
    parser.add_argument("--megabytes", type=int, default=30)
    options = parser.parse_args()
    from conformance.portal import FakePortal
    from conformance.portal.app import LOG_BODY_LIMIT, LOG_TOTAL_LIMIT

    size = options.megabytes * 1000 * 1000
    body = b"filler=" + b"a" * (size - 7)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with FakePortal(bucket=None) as portal:
        url = f"{portal.webhook_url()}crm.activity.badge.list.json"
        gc.collect()
        tracemalloc.start()
        traced_before, rss_before = tracemalloc.get_traced_memory()[0], rss()
        statuses = [
            requests.post(url, data=body, headers=headers, timeout=120).status_code
            for _ in range(options.posts)
        ]
        gc.collect()
        traced_after, traced_peak = tracemalloc.get_traced_memory()
        rss_after = rss()
        usage = portal.log_usage
        tracemalloc.stop()
    bound = min(options.posts * LOG_BODY_LIMIT, LOG_TOTAL_LIMIT)
    grown = traced_after - traced_before
    print(f"{options.posts} POSTs of {options.megabytes} MB: statuses {sorted(set(statuses))}")
    print(f"request log: {usage}")
    print(f"kept body bytes {usage['kept_bytes'] / MIB:.1f} MiB (bound {bound / MIB:.1f} MiB)")
    print(
        f"traced memory grew {grown / MIB:.1f} MiB (peak {traced_peak / MIB:.1f} MiB); "
        f"RSS {rss_before / MIB:.0f} -> {rss_after / MIB:.0f} MiB"
    )
    ok = usage["kept_bytes"] <= bound and grown <= bound + 16 * MIB
    print("within the bounds" if ok else "OVER THE BOUNDS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
