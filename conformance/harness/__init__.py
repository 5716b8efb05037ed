"""The harness protocol: clients in any language, driven over newline-delimited JSON.

``--client "cmd:<command line>"`` starts the command once per run and speaks protocol 1 with it
over stdin and stdout (docs/harness-protocol.md, schemas/harness/). The harness's stderr is its
log: every line becomes a log record, so the secret check reads it like any client's log.

Every read has a bound. A harness that breaks the protocol makes the adapter raise
:class:`HarnessProtocolError` (the engine reports the case as errored), quoting the offending
line with the target's secrets redacted; the process is then killed and the next case gets a
fresh one, so no stale answer can reach a later case.

``process`` supervises the processes, ``messages`` encodes and decodes the protocol's messages
through the schemas, ``adapter`` is what a run uses; everything public is importable from here.
"""

from __future__ import annotations

from conformance.harness.adapter import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_START_TIMEOUT,
    POOL,
    WARNINGS,
    HarnessAdapter,
    HarnessFactory,
    call_harness,
    load_harness_factory,
    split_command,
    start_harness,
    validating,
)
from conformance.harness.errors import HarnessCrash, HarnessError, HarnessProtocolError
from conformance.harness.messages import PROTOCOL_VERSION, Started, target_message
from conformance.harness.process import (
    MAX_LINE_BYTES,
    STOP_GRACE,
    HarnessPool,
    HarnessProcess,
    stderr_log,
)

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_START_TIMEOUT",
    "MAX_LINE_BYTES",
    "POOL",
    "PROTOCOL_VERSION",
    "STOP_GRACE",
    "WARNINGS",
    "HarnessAdapter",
    "HarnessCrash",
    "HarnessError",
    "HarnessFactory",
    "HarnessPool",
    "HarnessProcess",
    "HarnessProtocolError",
    "Started",
    "call_harness",
    "load_harness_factory",
    "split_command",
    "start_harness",
    "stderr_log",
    "target_message",
    "validating",
]

# Tracebacks and reports name the public path (conformance.harness.HarnessProtocolError), as
# they did before the split, not the module a class happens to live in.
for _public in (
    HarnessAdapter,
    HarnessCrash,
    HarnessError,
    HarnessFactory,
    HarnessPool,
    HarnessProcess,
    HarnessProtocolError,
    Started,
):
    _public.__module__ = __name__
del _public
