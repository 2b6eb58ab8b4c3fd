"""A tiny example application for the demo and the tests: an authorizer and a data model.

The ``authorizer`` and ``model`` checks run this code in the health check's own process, with
golden cases and fixtures shipped as files next to it (``golden/``, ``fixtures/``), and verify
the package against its hash manifest (``manifest.json``; after editing a listed file,
rewrite it with :func:`checks.model.build_manifest`, or the demo's model check fails).
"""

from service.demo.app.authz import authorize
from service.demo.app.models import Account

__all__ = ["Account", "authorize"]
