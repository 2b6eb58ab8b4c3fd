"""Load a pairs file against the templates it deploys: ``template.yaml``'s parameters (or the
file's own template's) and, for regions on ECS, ``deploy/ecs.yaml``'s."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deploy.pairs import PairsError, PairsFile, load_pairs

__all__ = ["load_pairs_file"]


def load_pairs_file(path: Path, template: Path | None = None) -> PairsFile:
    """Load ``path``, its template overridden by ``template``, checking every parameter name.

    Raises:
        PairsError: the file is invalid, or the template cannot be read.
    """
    from deploy.container import ecs_parameter_names
    from deploy.template import load_template, parameter_names

    pairs = load_pairs(path)
    if template is not None:
        pairs = dataclasses.replace(pairs, template=template.resolve())
    try:
        sam = load_template(pairs.template)
    except OSError as error:
        raise PairsError("defaults.template", f"cannot read {pairs.template}") from error
    # Validate again, now that the templates' parameter names are known (a region on ECS
    # takes deploy/ecs.yaml's; deploy.container refuses a name its own template lacks).
    known = parameter_names(sam) | ecs_parameter_names()
    return dataclasses.replace(load_pairs(path, known_parameters=known), template=pairs.template)
