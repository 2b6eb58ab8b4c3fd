"""Refusals for where a region runs (Lambda or ECS) and whom its alarms reach.

Called once from :func:`deploy.validate.validate`, before any AWS call; each refusal is a
:class:`~deploy.pairs.PairsError` naming the key, the pair and the region, and what to do. The
rules themselves live with their subject: :func:`deploy.alarms.alarm_rules` (a destination in
both regions, a topic of the region's own, an address for the us-east-1 monitoring stack) and
:func:`deploy.container.container_rules` (each region's parameters exist in its template, what
``deploy/ecs.yaml`` requires, an ALB in two AZs, the production name, EMF on the container).
"""

from __future__ import annotations

from deploy.alarms import alarm_rules
from deploy.container import container_rules
from deploy.engine import engine_config
from deploy.pairs import PairsError, PairsFile

__all__ = ["validate_platforms"]


def validate_platforms(pairs: PairsFile, default_config: str | None) -> None:
    """Refuse the first region its platform's template cannot take, or whose alarms notify
    nobody.

    Args:
        pairs: the validated pairs file.
        default_config: the text of ``[defaults] config``, or ``None``.

    Raises:
        PairsError: naming the key, the pair and the region.
    """
    from deploy.template import load_template, parameter_names

    lambda_parameters = parameter_names(load_template(pairs.template))
    for index, pair in enumerate(pairs.pairs):
        try:
            text, source = engine_config(pair, default_config)
        except PairsError as error:
            raise PairsError(f"pairs[{index}].{error.key}", error.problem) from None
        for side, stack in (("primary", pair.primary), ("secondary", pair.secondary)):
            container_rules(
                pair,
                stack,
                f"pairs[{index}].{side}",
                lambda_parameters=lambda_parameters,
                engine_text=text,
                engine_source=source,
            )
        alarm_rules(pair, index)
