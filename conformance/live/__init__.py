"""Live mode: the suite against a real portal, safely (DESIGN.md sections 4 and 9).

    B24_WEBHOOK_URL=https://<portal>/rest/<user id>/<secret>/ b24-conformance run --mode live

Read-only unless ``--allow-writes``; every request goes through a gateway on 127.0.0.1 that
enforces the rules and the budget for any client; secrets come from the environment only and
are redacted by value in everything the run prints or writes. See docs/live.md.

Modules: ``target`` (the portal from the environment), ``budget`` (leaky bucket and cap),
``gateway`` (the reverse proxy), ``transport`` (``--mode live``), ``cases`` (probes and
prefixed write cases), ``drift`` (the drift report), ``record`` (scrubbed cassettes), ``run``
(one run, cleanup and ``sweep``), ``command`` (the CLI's ``record`` and ``sweep``).
"""
