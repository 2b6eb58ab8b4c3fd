"""The drills: what goes wrong, when, and what DNS must do about it.

Every drill has three phases in real-scenario seconds (the twin divides them by its factor):
``settle`` (everything healthy, the fleet warm), ``incident`` (the fault on), and ``after``
(the fault off: recovery, fail-back no sooner than ``min_hold``). Actions run at a time into
the drill; ``when_moved`` actions run as soon as DNS answers the backup.

Outcome (:class:`Expect`): whether DNS must move to the backup, and whether it must stay there
for the rest of the incident. A healthy drill (the store down, throttled, a clock off) must not
move DNS at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploy.twin.faults import FaultProxy
    from deploy.twin.twin import Twin

__all__ = ["DRILLS", "Drill", "Expect", "drill_by_name"]

Action = Callable[["Twin"], None]


@dataclass(frozen=True)
class Expect:
    """What DNS must do.

    Attributes:
        moves: DNS moves to the backup during the incident.
        stays: once moved, it stays on the backup until the incident ends.
        fails_open: the incident ends with DNS on the primary whatever it did on the way (both
            regions down: Route 53 notices one before the other, so a short move to the broken
            backup is Route 53's own behaviour, not the service's).
    """

    moves: bool
    stays: bool = True
    fails_open: bool = False


@dataclass(frozen=True)
class Drill:
    """One drill.

    Attributes:
        name: its name on the command line.
        what: one line for the figure table.
        start: actions when the incident starts.
        end: actions when it ends.
        when_moved: actions once DNS answers the backup (during the incident).
        expect: the outcome.
        settle: seconds before the incident (real scenario).
        incident: seconds of incident.
        after: seconds after it.
        cold: start with no container at all (every first answer a cold start).
        prepare: actions before the settle phase (fleet size, a skewed clock).
        uses_store: the drill means nothing unless the function calls its state store.
    """

    name: str
    what: str
    start: tuple[Action, ...]
    end: tuple[Action, ...]
    expect: Expect
    when_moved: tuple[Action, ...] = ()
    settle: float = 90.0
    incident: float = 300.0
    after: float = 300.0
    cold: bool = False
    prepare: tuple[Action, ...] = field(default=())
    uses_store: bool = False


def _outage(twin: Twin) -> None:
    twin.primary.front.dependency.reset = True


def _gray(twin: Twin) -> None:
    twin.primary.front.dependency.fail_fraction = 0.15


def _slow(twin: Twin) -> None:
    twin.primary.front.dependency.latency = 2.5  # past the checks' budgets and the deadline


def _both_down(twin: Twin) -> None:
    twin.primary.front.dependency.reset = True
    twin.secondary.front.dependency.reset = True


def _clear_both(twin: Twin) -> None:
    _clear(twin)
    _heal(twin.secondary.front.dependency)


def _store_down(twin: Twin) -> None:
    twin.primary.front.store.blackhole = True


def _store_throttled(twin: Twin) -> None:
    twin.primary.front.store_throttled = True


def _heal(proxy: FaultProxy) -> None:
    """Every fault off; the counters kept (they tell what the drill did)."""
    proxy.latency, proxy.fail_fraction = 0.0, 0.0
    proxy.blackhole = proxy.reset = False


def _clear(twin: Twin) -> None:
    _heal(twin.primary.front.dependency)
    _heal(twin.primary.front.store)
    twin.primary.front.store_throttled = False


def _hold_on(twin: Twin) -> None:
    twin.switch("hold", "on")


def _hold_off(twin: Twin) -> None:
    twin.switch("hold", "off")


def _drain_on(twin: Twin) -> None:
    twin.switch("drain", "on")


def _drain_off(twin: Twin) -> None:
    twin.switch("drain", "off")


def _deploy_both(twin: Twin) -> None:
    twin.primary.replace()
    twin.secondary.replace()


def _scale_20(twin: Twin) -> None:
    twin.primary.scale(20)


def _five_one_skewed(twin: Twin) -> None:
    twin.skew_next(600.0)
    twin.primary.scale(5)


DRILLS: tuple[Drill, ...] = (
    Drill("healthy", "nothing wrong", (), (), Expect(moves=False)),
    Drill(
        "blip",
        "every read of the primary's table fails for 5 s, once (a blip, not an incident)",
        (_outage,),
        (_clear,),
        Expect(moves=False),
        incident=5.0,  # the longest of the 1-5 s blips a dependency has
    ),
    Drill("outage", "every read of the primary's table fails", (_outage,), (_clear,), Expect(True)),
    Drill("gray-failure", "15 % of the primary's reads fail", (_gray,), (_clear,), Expect(True)),
    Drill(
        "slow-dependency",
        "the primary's table answers 2.5 s late (over its budget)",
        (_slow,),
        (_clear,),
        Expect(True),
    ),
    Drill(
        "secondary-down",
        "both regions' tables fail: nothing to fail over to (Route 53 fails open)",
        (_both_down,),
        (_clear_both,),
        Expect(moves=False, fails_open=True),
    ),
    Drill(
        "store-down",
        "the primary's state store hangs",
        (_store_down,),
        (_clear,),
        Expect(False),
        uses_store=True,
    ),
    Drill(
        "store-throttled",
        "the primary's state store throttles every call",
        (_store_throttled,),
        (_clear,),
        Expect(False),
        uses_store=True,
    ),
    Drill(
        "hold",
        "outage; `switch hold on` once moved; fault cleared; released after the incident",
        (_outage,),
        (_hold_off,),
        Expect(True),
        when_moved=(_hold_on, _clear),
    ),
    Drill(
        "drain",
        "`switch drain on` on a healthy primary, off at the end",
        (_drain_on,),
        (_drain_off,),
        Expect(True),
    ),
    Drill(
        "deploy-both",
        "both regions deployed at once (all cold); 15 % gray failure; both redeployed once moved",
        (_gray,),
        (_clear,),
        Expect(True),
        when_moved=(_deploy_both,),
        cold=True,
    ),
    Drill(
        "clock-skew",
        "outage with 5 containers/tasks, one with its clock 10 min ahead",
        (_outage,),
        (_clear,),
        Expect(True),
        prepare=(_five_one_skewed,),
    ),
    Drill(
        "scale-out",
        "15 % gray failure; once moved, the primary scales out to 20",
        (_gray,),
        (_clear,),
        Expect(True),
        when_moved=(_scale_20,),
    ),
)


def drill_by_name(name: str) -> Drill:
    """The drill called ``name``.

    Raises:
        KeyError: no such drill.
    """
    for drill in DRILLS:
        if drill.name == name:
            return drill
    raise KeyError(name)
