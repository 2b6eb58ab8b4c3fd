"""CloudWatch Embedded Metric Format (EMF): metrics as JSON log lines, for Lambda.

CloudWatch Logs extracts the metrics from each line asynchronously: no CloudWatch API call on
the request path, no us-east-1 dependency. Per evaluation, one line for the region and one per
check (an EMF record holds a single value per dimension, so per-check dimensions need a record
of their own); they are written together in one ``write``.

Record shape (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)::

    {"_aws": {"Timestamp": 1700000000000,
              "CloudWatchMetrics": [{"Namespace": "DeepHealth",
                                     "Dimensions": [["service", "region", "check"]],
                                     "Metrics": [{"Name": "CheckDuration",
                                                  "Unit": "Milliseconds"}, ...]}]},
     "service": "deep-health", "region": "eu-west-1", "check": "accounts-table",
     "CheckDuration": 12.5, "CheckStatus": 0, "CheckFailed": 0, "reason": "timeout"}

Hand-written rather than aws-lambda-powertools' ``Metrics``: the format is this small, and
importing powertools' metrics costs a Lambda cold start measurably more (see the module's
tests and the issue's notes for figures).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TextIO

from checks.result import Status
from service.engine.report import Report, Transition
from service.listeners.stdout import stdout_writer
from service.state.fleet import STATE_RECORD, STATE_STORE

__all__ = ["EmfEmitter", "emf_records"]

_REGION_METRICS = (
    {"Name": "RegionHealthy", "Unit": "None"},
    {"Name": "EvaluationDuration", "Unit": "Milliseconds"},
    # 1 when the fleet's state store did not answer and this instance judged on its own state:
    # an in-region alarm can watch the store without any call beyond the evaluation's own.
    {"Name": "StateStoreFallback", "Unit": "Count"},
    # The step after the checks (the state store's round trip): EvaluationDuration is the
    # checks' alone, and the answer took both.
    {"Name": "StateDuration", "Unit": "Milliseconds"},
    # Damaged records the state store returned this evaluation (service.state.records).
    {"Name": "StateRecordsDamaged", "Unit": "Count"},
)
_CHECK_METRICS = (
    {"Name": "CheckDuration", "Unit": "Milliseconds"},
    {"Name": "CheckStatus", "Unit": "None"},
    {"Name": "CheckFailed", "Unit": "Count"},
)


def _directive(namespace: str, dimensions: list[str], metrics: tuple[dict[str, str], ...]) -> Any:
    return [{"Namespace": namespace, "Dimensions": [dimensions], "Metrics": list(metrics)}]


def emf_records(
    report: Report, *, namespace: str, service: str, region: str
) -> list[dict[str, Any]]:
    """The EMF records for one report: the region's, then one per check."""
    evaluation = report.evaluation
    timestamp = int(evaluation.time * 1000)
    head = {"service": service, "region": region}
    records: list[dict[str, Any]] = [
        {
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": _directive(namespace, ["service", "region"], _REGION_METRICS),
            },
            **head,
            "RegionHealthy": 1 if report.verdict.healthy else 0,
            "EvaluationDuration": round(evaluation.duration * 1000, 3),
            "StateStoreFallback": int(
                any(reason.startswith(f"{STATE_STORE}:") for reason in report.verdict.reasons)
            ),
            "StateDuration": round((report.state_duration or 0.0) * 1000, 3),
            "StateRecordsDamaged": sum(
                reason.startswith(f"{STATE_RECORD}:") for reason in report.verdict.reasons
            ),
            "status": report.verdict.status.value,
            "evaluation": evaluation.number,
            "releaseId": report.settings.release_id,
        }
    ]
    for result in evaluation.results:
        record: dict[str, Any] = {
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": _directive(
                    namespace, ["service", "region", "check"], _CHECK_METRICS
                ),
            },
            **head,
            "check": result.name,
            "CheckDuration": round(result.duration * 1000, 3),
            "CheckStatus": result.status.severity,
            "CheckFailed": 1 if result.status is Status.FAIL else 0,
        }
        if result.reason:
            record["reason"] = result.reason  # a property, not a dimension: no cardinality
        records.append(record)
    return records


class EmfEmitter:
    """A :data:`~service.engine.report.Listener` writing each new evaluation's EMF records.

    Args:
        namespace: the CloudWatch namespace.
        service: the ``service`` dimension's value.
        region: the ``region`` dimension; ``None``: ``AWS_REGION`` (else ``unknown``).
        stream: where lines go, written directly; ``None``: stdout, through the bounded queue
            of :mod:`service.listeners.stdout` (Lambda sends stdout to CloudWatch Logs), so a slow
            log
            agent never stalls an evaluation.
    """

    def __init__(
        self,
        *,
        namespace: str,
        service: str,
        region: str | None = None,
        stream: TextIO | None = None,
        dumps: Callable[[Any], str] = lambda value: json.dumps(value, separators=(",", ":")),
    ) -> None:
        self.namespace = namespace
        self.service = service
        self.region = region or os.environ.get("AWS_REGION") or "unknown"
        self._stream = stream
        self._dumps = dumps

    def __call__(self, report: Report, transition: Transition | None) -> None:
        if report.stale:
            return  # no new evaluation: nothing to measure
        records = emf_records(
            report, namespace=self.namespace, service=self.service, region=self.region
        )
        text = "".join(self._dumps(record) + "\n" for record in records)
        if self._stream is None:
            stdout_writer().write(text)
            return
        self._stream.write(text)
        self._stream.flush()
