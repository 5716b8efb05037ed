"""b24-conformance: contract tests for the Bitrix24 crm.activity.badge.* REST methods."""

__version__ = "0.1.0"

__all__ = ["__version__"]
