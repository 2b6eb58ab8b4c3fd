"""The engine: :class:`~service.engine.health.HealthService` turns checks into a
:class:`~service.engine.report.Report` (runner → policy → the failover state's tracking step).

- :mod:`~service.engine.health`: ``HealthService``, the one entry point every face calls;
- :mod:`~service.engine.report`: what it hands out (``Report``, ``Transition``, ``Listener``).
"""
