"""Running checks: the deadline, the samples, single-flight and the cache, one bulkhead per check.

- :mod:`~service.running.runner`: one evaluation of every check within the deadline;
- :mod:`~service.running.bulkhead`: a lane per check (its own event loop and worker threads),
  so a check that blocks or hangs never takes another down;
- :mod:`~service.running.background`: the evaluation loop of background mode;
- :mod:`~service.running.testing`: ``run_check``, the harness a team's tests run a check with.
"""
