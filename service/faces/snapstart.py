"""Lambda SnapStart runtime hooks: nothing that must be unique survives into restored copies.

With SnapStart (Python 3.12+, published versions only), Lambda runs init once, when a version
is published, snapshots the execution environment's memory, and resumes every new environment
of that version from the snapshot, possibly hours later. Whatever init made is then shared by
every restored copy, so :func:`before_snapshot` takes apart, and :func:`after_restore` makes
anew:

- the checks' AWS clients and their pooled connections (a TCP connection cannot be shared by
  copies, and its peer closed it long ago), and the shared botocore sessions with the
  credentials they cached (the publishing environment's, which expire);
- the checks' event loop and its worker threads, so nothing bound to the old loop (a task, a
  loop-bound client, a DNS cache) is carried over;
- ``random``'s state (every copy would otherwise draw the same numbers);
- the instance identity (:func:`service.state.instance.instance_id`) that the fleet's shared state
  uses to tell instances apart, and the fleet's state as read at publication (the first
  evaluation of a restored copy reads it anew, :meth:`service.state.fleet.FleetState.forget`);
- the init-time charge: a restored copy ran no init before its first request. What it did run
  is the restore hook, so that, and only that, is charged to the first deadline.

:func:`register` registers both through AWS's ``snapshot-restore-py`` (included in Lambda's
Python runtimes; pinned as this project's ``snapstart`` extra). Where it is not installed,
``register`` does nothing: the hooks only ever run under SnapStart.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING

from service.state import instance

if TYPE_CHECKING:
    from service.engine.health import HealthService

__all__ = ["after_restore", "before_snapshot", "register"]

logger = logging.getLogger("deep_health.snapstart")


def register(service: HealthService) -> bool:
    """Register the hooks for ``service`` with the SnapStart runtime.

    Returns:
        ``True`` when registered, ``False`` when ``snapshot-restore-py`` is not installed.
    """
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot, service)
    register_after_restore(after_restore, service)
    return True


def before_snapshot(service: HealthService) -> None:
    """Stop the checks (closing clients and connections), their loop and threads; forget the
    shared AWS sessions and their cached credentials."""
    service.close()
    # The failover state store's client lives on the serving loop, which no hook can await:
    # drop it, so a restored copy opens its own (new connections, its own credentials), and
    # drop the fleet's state as read at publication: a restored copy reads it anew.
    service.fleet.forget()
    from checks.aws_client import forget_sessions  # imported only now: it is cheap, botocore is not

    forget_sessions()
    logger.info("snapshot: checks stopped, AWS sessions forgotten")


def after_restore(service: HealthService) -> None:
    """Reseed ``random``, take a new instance id, start the checks on a new loop with new
    clients, and charge the first deadline with the time this took."""
    began = time.monotonic()
    random.seed()  # from os.urandom, which the kernel makes unique per restored copy
    identity = instance.renew()
    service.start()
    took = time.monotonic() - began
    service.charge_deadline(took)
    logger.info("restored from a snapshot as instance %s in %.3fs", identity, took)
