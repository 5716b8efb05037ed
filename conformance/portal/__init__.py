"""The fake portal: a real HTTP(S) Bitrix24 portal on 127.0.0.1 for clients in any language.

    from conformance.portal import FakePortal, Fault

    with FakePortal() as portal:
        requests.post(portal.webhook_url() + "crm.activity.badge.list.json")

Stateful by default (CONTRACT.md sections 1-4); ``portal.scripted(script)`` serves a case.
"""

from conformance.portal.faults import Fault
from conformance.portal.server import FakePortal

__all__ = ["FakePortal", "Fault"]
