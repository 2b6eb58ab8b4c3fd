"""``s3_object``: ``HeadObject`` of a canary object, or a ranged ``GetObject`` of its start.

A ``HeadObject`` proves the bucket's metadata path; a ranged read (``read_bytes``) proves the
data path too without downloading the whole object (an empty object reads as 0 bytes, as its
HEAD says). Fails with ``not_found`` when the object is missing and ``too_small`` when it is
shorter than ``min_size``.

Config::

    [[checks]]
    type = "s3_object"
    name = "assets"
    bucket = "my-app-assets-eu-west-1"
    key = "deep-health/canary.json"
    read_bytes = 64              # optional: GetObject of the first 64 bytes instead of HEAD
    min_size = 1                 # optional: bytes; a shorter object fails
    region = "eu-west-1"         # optional: AWS_REGION otherwise
"""

from __future__ import annotations

import time
from typing import Any

from checks.aws import AwsCheck, aws_errors
from checks.aws_client import error_code
from checks.base import Observations
from checks.exceptions import CheckFailed
from checks.result import Observation

__all__ = ["S3Object"]


class S3Object(AwsCheck):
    """Heads (or reads the start of) a canary object."""

    name = "s3"
    aws_service = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        key: str,
        read_bytes: int | None = None,
        min_size: int | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if read_bytes is not None and read_bytes < 1:
            raise ValueError("read_bytes must be at least 1")
        super().__init__(region=region, endpoint_url=endpoint_url)
        self.bucket = bucket
        self.key = key
        self.read_bytes = read_bytes
        self.min_size = min_size

    async def run(self) -> Observations:
        client = self.client
        started = time.perf_counter()
        with aws_errors():
            if self.read_bytes is None:
                response = await client.head_object(Bucket=self.bucket, Key=self.key)
                size = int(response.get("ContentLength", 0))
            else:
                size = await self._read_start(client, self.read_bytes)
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        if self.min_size is not None and size < self.min_size:
            raise CheckFailed(
                f"s3://{self.bucket}/{self.key} is {size} bytes, expected at least {self.min_size}",
                reason="too_small",
            )
        return {"latency": Observation(latency_ms, "ms"), "size": Observation(size, "bytes")}

    async def _read_start(self, client: Any, read_bytes: int) -> int:
        """A ranged GET of the first ``read_bytes`` bytes; the whole object's size."""
        from botocore.exceptions import ClientError

        try:
            response = await client.get_object(
                Bucket=self.bucket, Key=self.key, Range=f"bytes=0-{read_bytes - 1}"
            )
        except ClientError as exc:
            # A range from byte 0 is unsatisfiable (416) only when the object is empty: it
            # exists and is 0 bytes, as a HEAD would say. Anything else is the error it is.
            if error_code(exc) == "InvalidRange":
                return 0
            raise
        async with response["Body"] as body:
            await body.read()
        total = str(response.get("ContentRange", "")).rpartition("/")[2]
        return int(total) if total.isdigit() else int(response.get("ContentLength", 0))
