"""The clients ``b24-conformance compliance`` covers, and how each one's run is made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["EVERY_MODE", "KNOWN_CLIENTS", "KnownClient", "Vendored"]


@dataclass(frozen=True)
class Vendored:
    """A client copied into its harness (no package manager installs it): the file that states
    its version, and the runtime the harness needs on PATH."""

    source: str
    #: a regular expression whose first group is the version, searched in ``source``
    version_pattern: str
    program: str
    #: how to install ``program``, as the usage error says it
    install: str

    def version(self, root: Path) -> str | None:
        """The version ``source`` states, or None when it cannot be read."""
        try:
            text = (root / self.source).read_text(encoding="utf-8")
        except OSError:
            return None
        found = re.search(self.version_pattern, text)
        return found.group(1) if found else None


@dataclass(frozen=True)
class KnownClient:
    """A client the compliance report covers, and how its run is made."""

    name: str
    spec: str
    #: the `run` options beyond --client, --baseline and --report
    options: tuple[str, ...]
    baseline: str | None
    #: the distribution whose version is tested (None: this suite itself)
    package: str | None
    extra: str | None = None
    #: what a reader of the matrix needs to know about this client's adapter
    note: str = ""
    #: the page under docs/ that shows each defect on the wire, with where in the client's source
    findings: str = ""
    #: a Node.js client: its harness directory (npm ci --prefix), where node_modules/ holds it
    harness: str | None = None
    #: a client whose source ships in its harness directory (e.g. PHP's crest.php)
    vendored: Vendored | None = None


#: the run options of a Python client on requests: every offline mode. fast-bitrix24 (aiohttp)
#: runs in portal mode only: stub mode cannot see it, and vcrpy's aiohttp patch records its
#: request bodies as empty forms, which would fail it for the suite's own tooling.
EVERY_MODE: Final = ("--mode", "stub", "--mode", "replay", "--mode", "portal")

KNOWN_CLIENTS: Final = (
    KnownClient("reference", "reference", EVERY_MODE, None, None),
    KnownClient(
        "b24pysdk",
        "conformance.adapters.b24pysdk:factory",
        (*EVERY_MODE, "--tls"),
        "baselines/b24pysdk.yaml",
        "b24pysdk",
        "b24pysdk",
    ),
    KnownClient(
        "fast-bitrix24",
        "conformance.adapters.fast_bitrix24:factory",
        ("--mode", "portal"),
        "baselines/fast-bitrix24.yaml",
        "fast-bitrix24",
        "fast-bitrix24",
        note="call(raw=True) hands the application the parsed body, so the adapter reads the "
        "envelope; the cases judge what fast-bitrix24 itself does: HTTP errors, retries, "
        "encoding, timeouts",
    ),
    KnownClient(
        "fast-bitrix24-default",
        "conformance.adapters.fast_bitrix24:factory_default",
        ("--mode", "portal"),
        "baselines/fast-bitrix24-default.yaml",
        "fast-bitrix24",
        "fast-bitrix24",
        note="the API fast-bitrix24 leads with: call() sends get, add and delete as batch "
        "commands, which the per-method cases count as the wrong endpoint, so most of its "
        "matrix shows that one design choice; get_all() serves list",
    ),
    KnownClient(
        "a24wh",
        "conformance.adapters.a24wh_rest:factory",
        EVERY_MODE,
        "baselines/a24wh.yaml",
        "a24wh",
        "a24wh",
        note="request24 never raises: the adapter reads the dict it returns by its error_type",
        findings="a24wh.md",
    ),
    KnownClient(
        "b24jssdk",
        "cmd:node harnesses/node-b24jssdk/harness.mjs",
        ("--mode", "portal", "--tls", "--validate-protocol"),
        "baselines/b24jssdk.yaml",
        "@bitrix24/b24jssdk",
        note="Node.js, through the harness protocol; webhook mode (B24Hook) only",
        findings="b24jssdk.md",
        harness="harnesses/node-b24jssdk",
    ),
    KnownClient(
        "2bad-bitrix",
        "cmd:node harnesses/node-2bad-bitrix/harness.mjs",
        ("--mode", "portal", "--validate-protocol"),
        "baselines/2bad-bitrix.yaml",
        "@2bad/bitrix",
        note="Node.js, through the harness protocol; every call is a GET with a qs query "
        "string, paced by p-queue to 2 requests a second",
        findings="2bad-bitrix.md",
        harness="harnesses/node-2bad-bitrix",
    ),
    KnownClient(
        "crest",
        "cmd:php harnesses/php-crest/harness.php",
        ("--mode", "portal", "--tls", "--validate-protocol"),
        "baselines/crest.yaml",
        "bitrix-tools/crest",
        note="PHP, through the harness protocol: the vendor's crest.php copied unchanged, "
        "CRest::call in webhook mode (C_REST_WEB_HOOK_URL), one PHP process per case",
        findings="crest.md",
        vendored=Vendored(
            "harnesses/php-crest/crest.php",
            r"const VERSION\s*=\s*'([^']+)'",
            "php",
            "apt-get install php-cli php-curl",
        ),
    ),
)
