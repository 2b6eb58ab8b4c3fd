"""deep-health's service: the engine that turns checks into a Route 53 answer, and its faces.

Data flows one way: config → checks → runner → verdict → state → report → faces and listeners.
Each folder is one part; a part never imports a part above it (``tests/architecture`` holds the
walls), and :mod:`service.compose` is the one place that builds them and passes them in.

- :mod:`service.verdict`: the verdict's pure rules (samples, gray-failure window, latch, shared
  failure) and one evaluation's policy; no I/O.
- :mod:`service.running`: running checks (deadline, samples, single-flight, cache, one bulkhead
  per check, the background loop) and ``run_check``, the harness for a team's tests.
- :mod:`service.state`: the region's failover state, shared by its fleet: the stores (one module
  each, chosen by :mod:`service.state.registry`), the local fallback, the tracking step, the
  operator's switches, this instance's id.
- :mod:`service.engine`: ``HealthService`` (runner → policy → tracking → ``Report``).
- :mod:`service.output`: the formats (health+json, the terminal table), content negotiation.
- :mod:`service.listeners`: Prometheus, CloudWatch EMF, JSON logs, their bounded line writer.
- :mod:`service.faces`: the HTTP rules, the FastAPI app, the API Gateway adapter, the Lambda
  handler and its SnapStart hooks.
- :mod:`service.cli`: ``deep-health`` and its subcommands, the operator's console.
- :mod:`service.simulation`: the Route 53 simulator (virtual time, fleets, charts).
- :mod:`service.demo`: ``deep-health local``'s emulator, config and example application.
- At the top: :mod:`service.config` (TOML → settings and checks, exit 2 on bad keys),
  :mod:`service.entrypoints` (what each entry point does by default) and
  :mod:`service.compose` (the composition point).
"""
