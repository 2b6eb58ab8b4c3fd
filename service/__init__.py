"""deep-health's service: the engine that turns checks into a Route 53 answer, and its adapters.

Which module is which room:

- rules of the verdict (pure, no I/O): :mod:`~service.rules` (samples, gray-failure window,
  latch, shared failure), :mod:`~service.policy` (one evaluation's verdict);
- memory over time: :mod:`~service.tracker` (window and latch held in memory),
  :mod:`~service.switches` (operator drain/hold files);
- running checks: :mod:`~service.runner` (deadline, samples, single-flight, cache),
  :mod:`~service.background` (the evaluation loop);
- the engine: :mod:`~service.health` (``HealthService``: runner → policy → tracker → report),
  :mod:`~service.report` (``Report``, ``Transition``, ``Listener``: what it hands out);
- configuration: :mod:`~service.config` (TOML → settings and checks, exit 2 on bad keys),
  :mod:`~service.secrets` (the details token read from SSM once, at init);
- composition: :mod:`~service.entrypoints` (per-entry-point defaults, one table),
  :mod:`~service.compose` (builds the service and attaches its listeners, one way);
- adapters: :mod:`~service.app` (FastAPI routes), :mod:`~service.lambda_handler` (Lambda)
  with :mod:`~service.snapstart` (its SnapStart hooks), :mod:`~service.cli` (``deep-health``),
  :mod:`~service.local` (a local run);
- identity: :mod:`~service.instance` (this process's id, for state shared by the fleet);
- output: :mod:`~service.renderers` (every format, one list), :mod:`~service.body` and
  :mod:`~service.body_schema` (health+json), :mod:`~service.table` (terminal),
  :mod:`~service.openapi`;
- listeners: :mod:`~service.metrics` (Prometheus), :mod:`~service.emf` (CloudWatch EMF),
  :mod:`~service.logs` (JSON logs);
- :mod:`~service.deps` (dependency map), :mod:`~service.simulation` (the Route 53 simulator),
  :mod:`~service.demo_app` (the demo's example application).
"""
