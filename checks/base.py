"""The plugin API: a check is one small class with one ``run()``."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

from checks.result import Observation, Scope

__all__ = ["Check", "CheckSpec", "Endpoint", "Observations"]

Observations = Mapping[str, "Observation | float | int | str | bool"] | None
"""What ``run()`` may return: measured values keyed by measurement name, or ``None``."""


class Endpoint:
    """A network endpoint a check calls, declared for the dependency audit.

    Args:
        url: the URL or host the check calls.
        region: the AWS region it lives in, or ``None`` when not an AWS regional endpoint.
        global_service: ``True`` when the service is global (for example one that lives only in
            us-east-1): failing over cannot fix it.
    """

    __slots__ = ("global_service", "region", "url")

    def __init__(self, url: str, *, region: str | None = None, global_service: bool = False):
        self.url = url
        self.region = region
        self.global_service = global_service

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r}, region={self.region!r}, global={self.global_service})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSpec:
    """The fields every check has, as configured: what the runner and the policy read.

    Built by :meth:`CheckSpec.of`: :class:`Check`'s class attributes, a subclass's, then the
    config entry's.
    """

    name: str
    critical: bool
    scope: Scope
    timeout: float
    latency_budget: float | None
    samples: int

    @classmethod
    def of(cls, check: type[Check] | Check, **overrides: Any) -> CheckSpec:
        """The spec of a check class or instance, then ``overrides`` (None: unset).

        The defaults are the class attributes of :class:`Check` (documented there).
        """
        values = {f.name: getattr(check, f.name) for f in fields(cls)}
        if isinstance(check, Check):
            values["name"] = check.check_name
        else:
            values["name"] = check.name or check.__name__
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Check(abc.ABC):
    """Base class of every check.

    Subclass it, set the class attributes, and implement ``run()``: raise to fail (any
    exception, or :class:`~checks.CheckFailed` with a reason code), raise
    :class:`~checks.CheckWarning` to warn, return observations (or ``None``) to pass. ``run``
    may be ``async def`` (preferred) or a plain ``def``, which runs in a worker thread.

    Constructor keyword arguments are the check's options in the TOML config; annotate them so
    the configuration is validated before the service starts. Create clients in ``start()``
    (once per process), never in ``run()``.

    Example::

        class Billing(Check):
            name = "billing"
            timeout = 0.5

            def __init__(self, *, url: str) -> None:
                self.url = url

            async def run(self) -> Observations:
                ...

    Class attributes (each may be overridden per entry in the config):
        name: unique name, shown in the body and used as a metric label.
        critical: a failure makes the region unhealthy (``True``) or only warns (``False``).
        scope: ``regional`` (default), ``global`` (failing over cannot fix it: warns only) or
            ``peer`` (informs only).
        timeout: seconds the runner lets ``run()`` take; the evaluation deadline may tighten it.
        latency_budget: seconds; a run slower than this warns. ``None`` disables it.
        samples: how many times ``run()`` is called concurrently per evaluation (gray-failure
            detection fills its window faster with more samples).
    """

    name: ClassVar[str] = ""
    critical: bool = True
    scope: Scope = "regional"
    timeout: float = 1.0
    latency_budget: float | None = None
    samples: int = 1

    @classmethod
    def configure(cls, spec: CheckSpec, **options: Any) -> Self:
        """Create the check with ``spec``'s common fields in place before ``__init__`` runs.

        So ``self.timeout`` (and the others) read in ``__init__`` are the configured values.

        Args:
            spec: The configured common fields (see :meth:`CheckSpec.of`).
            **options: The check's own options (its ``__init__`` keyword arguments).

        Returns:
            The configured check.
        """
        check = cls.__new__(cls)
        vars(check).update({f.name: getattr(spec, f.name) for f in fields(spec)})
        check.__init__(**options)  # type: ignore[misc]
        return check

    @property
    def spec(self) -> CheckSpec:
        """This check's common fields, frozen."""
        return CheckSpec.of(self)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Create clients and other long-lived resources. Called once, before any run."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start()`` created. Called once, at shutdown."""

    @abc.abstractmethod
    def run(self) -> Awaitable[Observations] | Observations:
        """Probe the dependency once. Raise to fail or warn; return observations to pass."""

    def endpoints(self) -> list[Endpoint]:
        """The endpoints this check calls, for ``deep-health deps``. Empty by default."""
        return []

    @property
    def check_name(self) -> str:
        """The name this instance reports under (the config may override the class's)."""
        return self.__dict__.get("name") or type(self).name or type(self).__name__

    def __repr__(self) -> str:
        # Options may carry credentials: never put them in a repr.
        return f"<{type(self).__name__} name={self.check_name!r}>"
