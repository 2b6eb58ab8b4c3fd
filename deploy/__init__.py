"""Deploy deep-health to region pairs: pairs file, SAM commands, and an offline rehearsal.

Modules, one job each:

- :mod:`deploy.pairs`: the region-pairs TOML file, validated into frozen dataclasses.
- :mod:`deploy.template`: load ``template.yaml``, transform it with ``aws-sam-translator``,
  evaluate its conditions.
- :mod:`deploy.plan`: the exact build and ``sam deploy`` commands for every region.
- :mod:`deploy.rehearse`: create the stacks of every pair in a local moto server and read
  the Route 53 wiring back.
- :mod:`deploy.__main__`: the command line, ``python -m deploy --pairs FILE``.
"""

from __future__ import annotations

from deploy.pairs import Pair, PairsError, PairsFile, RegionStack, load_pairs, parse_pairs

__all__ = ["Pair", "PairsError", "PairsFile", "RegionStack", "load_pairs", "parse_pairs"]
