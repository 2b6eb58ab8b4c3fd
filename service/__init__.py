"""deep-health's service: the engine that turns checks into a Route 53 answer, and its adapters.

Which module is which room:

- rules of the verdict (pure, no I/O): :mod:`~service.rules` (samples, gray-failure window,
  latch, shared failure), :mod:`~service.policy` (one evaluation's verdict);
- memory over time: :mod:`~service.state` (the region's failover state, shared by its fleet:
  the in-memory and DynamoDB stores, the local fallback, the tracking step that judges each
  evaluation with the rules, ``deep-health switch``), :mod:`~service.tracker` (window and latch
  held in one process's memory, for the simulator's single-instance strategy),
  :mod:`~service.switches` (operator drain/hold env and files);
- running checks: :mod:`~service.runner` (deadline, samples, single-flight, cache),
  :mod:`~service.bulkhead` (a lane per check: its own loop and worker threads),
  :mod:`~service.background` (the evaluation loop);
- the engine: :mod:`~service.health` (``HealthService``: runner → policy → tracking step →
  report),
  :mod:`~service.report` (``Report``, ``Transition``, ``Listener``: what it hands out);
- configuration: :mod:`~service.config` (TOML → settings and checks, exit 2 on bad keys),
  :mod:`~service.secrets` (the details token read from SSM once, at init);
- composition: :mod:`~service.entrypoints` (per-entry-point defaults, one table),
  :mod:`~service.compose` (builds the service and attaches its listeners, one way);
- the HTTP rules: :mod:`~service.routes` (routes, errors, the details token; no framework);
- adapters: :mod:`~service.app` (FastAPI over the routes), :mod:`~service.lambda_handler`
  (Lambda) with :mod:`~service.apigw` (API Gateway events over the routes) and
  :mod:`~service.snapstart` (its SnapStart hooks), :mod:`~service.cli` (``deep-health``),
  :mod:`~service.local` (a local run), :mod:`~service.console` (``deep-health status``, the
  operator's console);
- identity: :mod:`~service.instance` (this process's id, for state shared by the fleet);
- output for people: :mod:`~service.terminal` (rich, lazily: colour on a terminal, plain when
  piped, progress, pipe-safe), :mod:`~service.simulation.plot` (charts, matplotlib optional);
- output: :mod:`~service.renderers` (every format, one list), :mod:`~service.body` and
  :mod:`~service.body_schema` (health+json), :mod:`~service.table` (terminal),
  :mod:`~service.openapi`;
- listeners: :mod:`~service.metrics` (Prometheus), :mod:`~service.emf` (CloudWatch EMF),
  :mod:`~service.logs` (JSON logs), and :mod:`~service.stdout` (their bounded line writer);
- :mod:`~service.deps` (dependency map), :mod:`~service.simulation` (the Route 53 simulator),
  :mod:`~service.demo_app` (the demo's example application).
"""
