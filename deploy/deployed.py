"""Where a deployed function really keeps the fleet's failover state: read, not assumed.

``verify`` asks this of every standalone region: the function's environment (its live
configuration in Lambda) and the engine config in the code package the stack records (the
function's ``Code`` in the stack's processed template, read from S3), loaded together exactly as
the function loads them at init. On ECS, the task definition the region's service runs: its
container's environment and the config it writes from ``DEEP_HEALTH_CONFIG_B64``. The answer is
one of:

- shared: the ``[state]`` store is the stack's own table, in its region (nothing to say);
- not shared: each container keeps its own window, latch and switches (``[state] store =
  "memory"``, or a table the stack neither creates nor grants): a fresh container answers
  healthy for a region the others hold failed over, so failover is **not armed** -- unless the
  pair opted out (``StateStore = "memory"``), where it is a warning;
- unknown: something could not be read (a warning naming what).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from checks.aws_client import error_code
from deploy.pairs import Pair, RegionStack

__all__ = ["FUNCTION", "SharedState", "function_name", "read_shared_state"]

FUNCTION = "HealthFunction"
"""The function's logical id in template.yaml."""
_DEFAULT_CONFIG = "config/health.toml"


@dataclass(frozen=True)
class SharedState:
    """One region's answer: ``problem`` disarms failover, ``warning`` does not.

    Attributes:
        problem: why the fleet's state is not shared (failover NOT armed), if so.
        warning: what could not be read, or the pair's own opt-out, if so.
    """

    problem: str | None = None
    warning: str | None = None


def read_shared_state(pair: Pair, stack: RegionStack, client: Callable[[str], Any]) -> SharedState:
    """Read what the region's deployed function (or, on ECS, its service's task) uses for the
    fleet's state.

    Args:
        pair: the pair.
        stack: the region's stack.
        client: an AWS client of ``stack.region`` by service name (``"cloudformation"``,
            ``"lambda"``, ``"s3"``, ``"ecs"``).

    Returns:
        The problem or warning, both ``None`` when the state is the stack's table.
    """
    values = pair.values(stack)
    if values.get("Mode", "standalone") != "standalone":
        return SharedState()  # the application's own function: not this stack's to read
    label = f"{stack.role} {stack.region}"
    import botocore.exceptions
    import botocore.parsers

    errors = (
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
        botocore.parsers.ResponseParserError,
        KeyError,
    )
    ecs = stack.platform == "ecs"
    try:
        if ecs:
            text, environment = _task_config(client("cloudformation"), client("ecs"), stack)
        else:
            text, environment = _function_config(
                client("cloudformation"), client("lambda"), client("s3"), stack
            )
    except (*errors, OSError, ValueError, zipfile.BadZipFile) as error:
        code = error_code(error) or type(error).__name__
        return SharedState(
            warning=f"{label}: cannot tell whether its {'tasks' if ecs else 'containers'} share"
            f" the failover state: the deployed {'task' if ecs else 'function'}'s config could"
            f" not be read ({code})"
        )
    return _judge(text, {**environment, "AWS_REGION": stack.region}, values, label, stack)


def _function_config(
    cloudformation: Any, lambda_client: Any, s3: Any, stack: RegionStack
) -> tuple[str, dict[str, str]]:
    """The deployed function's bundled config and its live environment."""
    name = function_name(cloudformation, stack.stack_name)
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    variables = configuration.get("Environment", {}).get("Variables", {})
    environment = {key: str(value) for key, value in variables.items()}
    return _bundled_config(cloudformation, s3, stack, environment), environment


def _task_config(cloudformation: Any, ecs: Any, stack: RegionStack) -> tuple[str, dict[str, str]]:
    """The config and environment of the task definition the region's ECS service runs: the
    container writes ``DEEP_HEALTH_CONFIG_B64`` to its config file at start (deploy/ecs.yaml)."""
    resources = {
        item["LogicalResourceId"]: str(item["PhysicalResourceId"])
        for page in cloudformation.get_paginator("list_stack_resources").paginate(
            StackName=stack.stack_name
        )
        for item in page["StackResourceSummaries"]
    }
    (service,) = ecs.describe_services(
        cluster=resources["Cluster"], services=[resources["Service"]]
    )["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    container = next(
        c for c in definition["taskDefinition"]["containerDefinitions"] if c["name"] == "health"
    )
    environment = {item["name"]: str(item["value"]) for item in container.get("environment", [])}
    text = base64.b64decode(environment["DEEP_HEALTH_CONFIG_B64"], validate=True)
    return text.decode("utf-8"), environment


def function_name(cloudformation: Any, stack_name: str) -> str:
    """The physical name of the stack's function.

    Raises:
        KeyError: the stack has no such function.
    """
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["LogicalResourceId"] == FUNCTION:
                return str(resource["PhysicalResourceId"])
    raise KeyError(FUNCTION)


def _bundled_config(
    cloudformation: Any, s3: Any, stack: RegionStack, environment: Mapping[str, str]
) -> str:
    """The engine config inside the code package the stack records for the function."""
    body = cloudformation.get_template(StackName=stack.stack_name, TemplateStage="Processed")[
        "TemplateBody"
    ]
    template = json.loads(body) if isinstance(body, str) else body
    code = template["Resources"][FUNCTION]["Properties"]["Code"]
    package = s3.get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
    path = environment.get("DEEP_HEALTH_CONFIG") or _DEFAULT_CONFIG
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return archive.read(path.lstrip("/")).decode("utf-8")


def _judge(
    text: str,
    environment: Mapping[str, str],
    values: Mapping[str, str],
    label: str,
    stack: RegionStack,
) -> SharedState:
    from checks.exceptions import ConfigError
    from deploy.engine import STATE_TABLE_PLACEHOLDER, region_environment
    from deploy.sharing import Sharing, state_sharing
    from service.config import parse_config

    try:
        with region_environment(stack.region):
            state = parse_config(text, environ=environment, source="the bundled config").state
    except ConfigError as error:
        unit = "task" if stack.platform == "ecs" else "function"
        return SharedState(problem=f"{label}: the deployed {unit} would not start: {error}")
    granted = environment.get("DEEP_HEALTH_STATE_TABLE", "")
    known = None if granted in ("", STATE_TABLE_PLACEHOLDER) else granted
    found = state_sharing(
        state, chosen=values.get("StateStore", "dynamodb"), granted=known, region=stack.region
    )
    if found is Sharing.TABLE_NOT_CREATED:
        # The pairs file opts out, but the deployed function names a table (deployed before
        # the opt-out): what is deployed decides, so the table is judged like any other.
        found = state_sharing(state, chosen="dynamodb", granted=known, region=stack.region)
    if found in (Sharing.OPTED_OUT, Sharing.IN_MEMORY):
        why = (
            f"DEEP_HEALTH_STATE_STORE={environment['DEEP_HEALTH_STATE_STORE']!r} in its environment"
            if environment.get("DEEP_HEALTH_STATE_STORE") == state.store
            else f"its bundled config's [state] store = {state.store!r}"
        )
        kept = f"each container keeps its own failover state ({why})"
        if found is Sharing.OPTED_OUT:
            return SharedState(warning=f"{label}: {kept}, as the pair chose (StateStore = memory)")
        return SharedState(
            problem=f"{label}: the fleet's state is not shared: {kept}; a new container"
            " answers healthy for a region the others hold failed over"
        )
    if found is Sharing.OTHER_REGION:
        return SharedState(
            problem=f"{label}: the fleet's state is read in {state.region}, not in this region"
        )
    if found is Sharing.OTHER_TABLE:
        return SharedState(
            problem=f"{label}: the fleet's state is kept in table {state.table!r}, not the"
            f" stack's {granted!r}: its containers are not granted it"
        )
    return SharedState()
