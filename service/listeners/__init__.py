"""Listeners: what each report and transition is told to (attached by :mod:`service.compose`).

- :mod:`~service.listeners.metrics`: Prometheus;
- :mod:`~service.listeners.emf`: CloudWatch embedded metric format;
- :mod:`~service.listeners.logs`: JSON logs of transitions and evaluations;
- :mod:`~service.listeners.stdout`: the bounded line writer they share.
"""
