"""Deploy deep-health to region pairs, without a silent fail-open.

Modules, one job each:

- :mod:`deploy.facts`: the AWS facts the tooling checks against (checker regions, the 18 %
  rule, API Gateway zone ids), with their sources.
- :mod:`deploy.pairs`: the region-pairs TOML file, validated into frozen dataclasses.
- :mod:`deploy.validate`: refuse, before any AWS call, setups that would break failover.
- :mod:`deploy.engine`: the engine config each pair's function bundles (generated from its
  parameters, or its own, checked against them).
- :mod:`deploy.template`: load ``template.yaml``, transform it with ``aws-sam-translator``,
  evaluate its conditions and rules.
- :mod:`deploy.plan`: the exact steps (build, per pair: bundle, deploy and gate each region,
  the monitoring stack), each printable as a command that runs as pasted.
- :mod:`deploy.package`: keep the Lambda package lean (what the checks never import goes).
- :mod:`deploy.gate` and :mod:`deploy.rollout`: run the steps; a region that does not come up
  healthy stops the rollout before the next.
- :mod:`deploy.container`: the container path (``deploy/ecs.yaml``, a region with
  ``platform = "ecs"``): its parameters, its engine config, its deploy command, its refusals.
- :mod:`deploy.alarms`: each region's alarms stack and the pair's dashboard, and the refusal of
  alarms that would notify nobody.
- :mod:`deploy.platforms`: those refusals, called once from :mod:`deploy.validate`.
- :mod:`deploy.rehearse`: create every stack in a local moto server and read Route 53 back.
- :mod:`deploy.verify`: ``deep-health verify``, read-only: is failover armed?
- :mod:`deploy.ui`: progress for people (``rich`` on a terminal when installed).
- :mod:`deploy.__main__`: the command line, ``python -m deploy --pairs FILE``.
"""

from __future__ import annotations

from deploy.pairs import Pair, PairsError, PairsFile, RegionStack, load_pairs, parse_pairs

__all__ = ["Pair", "PairsError", "PairsFile", "RegionStack", "load_pairs", "parse_pairs"]
