"""b24-conformance: contract tests for the Bitrix24 crm.activity.badge.* REST methods.

The public types adapters use are exported here; see docs/adapters.md.
"""

__version__ = "0.1.0"

from conformance.api import (
    CAPABILITIES,
    TRANSPORT_FAILURE_KINDS,
    Adapter,
    AdapterFactory,
    ApiError,
    Outcome,
    ReturnedError,
    Success,
    Target,
    TransportFailure,
)

__all__ = [
    "CAPABILITIES",
    "TRANSPORT_FAILURE_KINDS",
    "Adapter",
    "AdapterFactory",
    "ApiError",
    "Outcome",
    "ReturnedError",
    "Success",
    "Target",
    "TransportFailure",
    "__version__",
]
