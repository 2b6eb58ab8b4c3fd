"""A local twin of a deployed region pair: what ``python -m deploy`` ships, run as AWS runs it.

``python -m deploy twin PAIRS --drill gray-failure [--path lambda|tasks]`` builds the package
as the deploy does (for this machine's platform), and runs it per region behind stand-ins of
what a deployed region puts in front of it, under Route 53's rules and injected faults. One
module per job:

- :mod:`~deploy.twin.artefact`: the build (deploy's own steps) and what the template gives
  the function;
- :mod:`~deploy.twin.runtime_api`: the Lambda Runtime API one container's ``awslambdaric``
  talks to;
- :mod:`~deploy.twin.lambda_pool`: containers as processes, frozen between invocations;
- :mod:`~deploy.twin.apigw`: the HTTP API stand-in (v2 events, stage throttling);
- :mod:`~deploy.twin.alb`: the ALB stand-in over ``deep-health serve`` tasks;
- :mod:`~deploy.twin.region`: one region of either path;
- :mod:`~deploy.twin.aws`, :mod:`~deploy.twin.faults`: the emulator behind fault injectors;
- :mod:`~deploy.twin.dns`: Route 53's checkers (:mod:`service.simulation.route53`'s rules);
- :mod:`~deploy.twin.verified`: ``verify`` against the twin's Route 53;
- :mod:`~deploy.twin.drills`, :mod:`~deploy.twin.twin`, :mod:`~deploy.twin.figures`,
  :mod:`~deploy.twin.plot`, :mod:`~deploy.twin.cli`: the drills, playing them, the figures.

See ``docs/twin.md``.
"""
