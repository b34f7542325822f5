"""The routing problem in solver units: integers, indices into the travel matrix.

Times are integer seconds since local midnight of the plan date; volumes litres, weights kg,
distances metres, costs integer cost units (cents of the fleet's currency). Locations are row
indices of ``Problem.matrix``.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

from network.matrix import TravelMatrix
from optimiser.errors import InvalidProblemError

DAY_S = 24 * 3600
SECOND_VISIT = "#2"  # suffix of the stop ref of a bin's second visit of the day
_VISIT = re.compile(r"#([2-9]|[1-9][0-9]+)$")  # "#k", k >= 2: a bin's k-th visit of the day


def bin_of(ref: str) -> str:
    """The bin id of a stop ref (a bin's k-th visit of the day, k >= 2, is ``<bin id>#k``)."""
    return _VISIT.sub("", ref)


def visit_number(ref: str) -> int:
    """Which visit of its bin a stop ref is: k of ``<bin id>#k``, 1 for the bin id alone."""
    found = _VISIT.search(ref)
    return int(found.group(1)) if found else 1


def visit_ref(bin_id: str, k: int) -> str:
    """The stop ref of bin ``bin_id``'s ``k``-th visit of the day (k >= 1)."""
    return bin_id if k == 1 else f"{bin_id}#{k}"


def next_visit_ref(bin_id: str, done: Collection[str]) -> str:
    """The ref of bin ``bin_id``'s first visit whose ref is not in ``done`` (refs of visits
    made): where an alert or an emptying off the route takes the bin's next visit."""
    k = 1
    while visit_ref(bin_id, k) in done:
        k += 1
    return visit_ref(bin_id, k)


def _window_ok(name: str, window: tuple[int, int] | None) -> None:
    if window is None:
        return
    lo, hi = window
    if lo < 0 or hi < lo:
        raise InvalidProblemError(f"{name}: window {window} must satisfy 0 <= start <= end")


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """A bin to empty (``ref`` is the bin id; :func:`bin_of` for a second visit's ref).

    ``window_s`` bounds the start of service; ``required`` stops must be served, optional
    ones are worth ``prize`` cost units (the drop penalty). ``due_s`` is a response target
    (an overflow alert's): service should start by then. It is not a rule: each second
    later costs ``optimiser.costs.LATE_COST_PER_H`` / 3600 cost units in the search, and the
    checker reports lateness (``optimiser.check.late_s``), not a violation. ``priority``
    orders required stops when not all of them fit: a stop of priority 1 (an overflow alert)
    is left out only if leaving out stops of priority 0 makes no room (:func:`drop_weight`).
    ``needs`` is the equipment a truck must have to empty it (:func:`takes`).
    """

    ref: str
    location: int
    volume_l: int
    weight_kg: int
    service_s: int
    window_s: tuple[int, int] | None = None
    stream: str = "residual"
    required: bool = True
    prize: int = 0
    due_s: int | None = None
    priority: int = 0
    needs: frozenset[str] = frozenset()


def takes(v: VehicleSpec, stop: Stop) -> bool:
    """Whether truck ``v`` may empty ``stop``: it collects its stream and has the equipment
    it needs."""
    return stop.stream in v.streams and stop.needs <= v.equipment


PRIORITY_WEIGHT = 1000  # a required stop one priority up outweighs this many below it


def drop_weight(stop: Stop) -> int:
    """How many priority-0 required stops leaving ``stop`` out weighs, when not every
    required stop fits (the engines scale their drop penalties by it; plans rank by it)."""
    return int(PRIORITY_WEIGHT**stop.priority)


CLOSED_ALL_DAY_S = (DAY_S - 1, DAY_S - 1)
"""A site's ``window_s`` on a day it is closed at every hour (its street closed to trucks
all day, ``optimiser.street_hours``): its last second, when no truck is there."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A disposal site: unloading empties the truck; ``window_s`` bounds the start of unloading.

    A site whose record changed during a day being driven (its streams, hours or unloading
    time, seconds) holds from ``since_s`` on (seconds since local midnight): an unloading
    that started earlier, a visit done, was made under the record ``before`` it
    (:meth:`at`). A site never changed has no ``before``. A site taken off the list during
    the day is kept closed from ``unlisted_s`` (seconds since local midnight; None while
    listed), its hours ending then, so that a later plan of the day knows it had one; the
    unloadings done there keep the record they were made under too.
    """

    ref: str
    location: int
    streams: frozenset[str]
    window_s: tuple[int, int]
    unload_s: int
    since_s: int = 0
    before: Site | None = None
    unlisted_s: int | None = None

    def at(self, start_s: int) -> Site:
        """The record in force for an unloading starting at ``start_s`` (seconds since local
        midnight): this one, or the one before it that held then."""
        site = self
        while site.before is not None and start_s < site.since_s:
            site = site.before
        return site


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleSpec:
    """A truck for the day.

    ``shift_s`` bounds leaving ``start`` and returning to ``end``. ``break_window_s`` bounds
    the start of a ``break_s`` break. Costs are integer cost units. The ``initial_*`` fields
    and ``ready_s`` describe a truck already on the road (rerouting): it is at ``start`` at
    ``ready_s`` carrying that load, and has already collected ``initial_daily_*`` today;
    ``departed_s`` is when it left its depot, for the break rule (:func:`day_start`).
    ``comes_back_loaded``: no disposal site it may use is open (or reachable in its hours)
    for the rest of the day, or it broke down on the road (``end`` is where it stands): it
    need not unload before its end.
    ``off_duty``: out of service, or gone from the fleet, for the rest of the day; its
    ``max_stops`` holds it to its visits done, and reasons name it so. ``equipment``: what
    it carries for the stops that need it (``Stop.needs``, :func:`takes`).
    """

    ref: str
    start: int
    end: int
    capacity_l: int
    capacity_kg: int
    streams: frozenset[str]
    shift_s: tuple[int, int]
    break_s: int = 0
    break_window_s: tuple[int, int] | None = None
    cost_per_km: int = 100
    cost_per_hour: int = 3000
    fixed_cost: int = 0
    max_stops: int | None = None
    max_daily_l: int | None = None
    max_daily_kg: int | None = None
    ready_s: int | None = None
    initial_volume_l: int = 0
    initial_weight_kg: int = 0
    initial_daily_l: int = 0
    initial_daily_kg: int = 0
    break_taken: bool = False
    departed_s: int | None = None
    off_duty: bool = False
    comes_back_loaded: bool = False
    equipment: frozenset[str] = frozenset()

    @property
    def starts_loaded(self) -> bool:
        """Whether the truck carries waste where it starts (rerouting: a load on board)."""
        return self.initial_volume_l > 0 or self.initial_weight_kg > 0

    def __setstate__(self, state: Sequence[object]) -> None:
        """Unpickle, also a state pickled before the last fields existed (they get their
        defaults): the service reroutes day plans it pickled, maybe before an upgrade."""
        for f, value in itertools.zip_longest(fields(self), state, fillvalue=MISSING):
            if f is MISSING or (value is MISSING and f.default is MISSING):
                raise TypeError(f"a VehicleSpec state of {len(state)} values does not fit")
            object.__setattr__(self, f.name, f.default if value is MISSING else value)


def day_start(v: VehicleSpec, route_start_s: int) -> int:
    """When the truck's working day began, for the break rule: its route's start, or when it
    left its depot if that was earlier (``departed_s``: a truck rerouted on the road). A
    route may skip the break only if the day ends by the break window's end or begins after
    a break at the window's start would be over."""
    return route_start_s if v.departed_s is None else min(route_start_s, v.departed_s)


def _unique(kind: str, refs: Iterable[str]) -> None:
    seen: set[str] = set()
    for ref in refs:
        if ref in seen:
            raise InvalidProblemError(f"{kind} ref {ref!r} appears twice; refs must be unique")
        seen.add(ref)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """A validated, immutable routing problem.

    ``return_empty``: when True and the problem has disposal sites, every truck must unload
    before returning to its end depot (waste collection rules). Without sites it is ignored.
    """

    matrix: TravelMatrix
    stops: tuple[Stop, ...]
    vehicles: tuple[VehicleSpec, ...]
    sites: tuple[Site, ...] = ()
    return_empty: bool = True

    def __post_init__(self) -> None:
        if not self.vehicles:
            raise InvalidProblemError("the problem has no vehicle; add at least one")
        _unique("stop", (s.ref for s in self.stops))
        _unique("vehicle", (v.ref for v in self.vehicles))
        _unique("site", (s.ref for s in self.sites))
        for s in self.stops:
            self._check_stop(s)
        for listed in self.sites:
            site: Site | None = listed
            while site is not None:  # the record and those it replaced today
                self._check_location(f"site {site.ref!r}", site.location)
                _window_ok(f"site {site.ref!r}", site.window_s)
                if site.unload_s < 0:
                    raise InvalidProblemError(f"site {site.ref!r}: unload_s must be >= 0")
                site = site.before
        for v in self.vehicles:
            self._check_vehicle(v)

    def _check_location(self, name: str, location: int) -> None:
        if not 0 <= location < self.matrix.size:
            raise InvalidProblemError(
                f"{name}: location {location} is not a row of the {self.matrix.size}-point matrix"
            )

    def _check_stop(self, s: Stop) -> None:
        name = f"stop {s.ref!r}"
        self._check_location(name, s.location)
        _window_ok(name, s.window_s)
        if min(s.volume_l, s.weight_kg, s.service_s, s.prize) < 0:
            raise InvalidProblemError(f"{name}: volume, weight, service and prize must be >= 0")
        if s.due_s is not None and s.due_s < 0:
            raise InvalidProblemError(f"{name}: due_s {s.due_s} must be >= 0 (s since midnight)")
        if s.priority not in (0, 1):
            raise InvalidProblemError(f"{name}: priority {s.priority} must be 0, or 1 (an alert)")

    def _check_vehicle(self, v: VehicleSpec) -> None:
        name = f"vehicle {v.ref!r}"
        self._check_location(name + " start", v.start)
        self._check_location(name + " end", v.end)
        _window_ok(name + " shift", v.shift_s)
        _window_ok(name + " break", v.break_window_s)
        if v.capacity_l <= 0 or v.capacity_kg <= 0:
            raise InvalidProblemError(f"{name}: capacities must be > 0")
        if min(v.cost_per_km, v.cost_per_hour, v.fixed_cost) < 0:
            raise InvalidProblemError(
                f"{name}: cost_per_km, cost_per_hour and fixed_cost must be >= 0"
            )
        if v.break_s > 0 and v.break_window_s is None and not v.break_taken:
            raise InvalidProblemError(f"{name}: break_s > 0 needs break_window_s")
        if v.initial_volume_l > v.capacity_l or v.initial_weight_kg > v.capacity_kg:
            raise InvalidProblemError(f"{name}: initial load exceeds the capacity")

    def stop(self, ref: str) -> Stop:
        """Return the stop with ``ref`` or raise ``InvalidProblemError``."""
        found = self.stops_by_ref().get(ref)
        if found is None:
            raise InvalidProblemError(f"unknown stop {ref!r}")
        return found

    def site(self, ref: str) -> Site:
        """Return the site with ``ref`` or raise ``InvalidProblemError``."""
        found = self.sites_by_ref().get(ref)
        if found is None:
            raise InvalidProblemError(f"unknown site {ref!r}")
        return found

    def stops_by_ref(self) -> Mapping[str, Stop]:
        """The stops by ref (read only: shared by every caller of this problem's stops)."""
        return _by_ref(self.stops)

    def sites_by_ref(self) -> Mapping[str, Site]:
        """The disposal sites by ref (read only, as :meth:`stops_by_ref`)."""
        return _by_ref(self.sites)


# the last few tuples of stops (or sites) indexed by ref, by identity: the checker and the
# insertion heuristics look refs up thousands of times per problem (a frozen, slotted
# Problem has no room to keep them; its tuples never change)
_BY_REF: OrderedDict[int, tuple[tuple[Stop | Site, ...], dict[str, Stop | Site]]] = OrderedDict()
_BY_REF_SIZE = 16
_BY_REF_LOCK = threading.Lock()


def _by_ref(items: tuple[Stop, ...] | tuple[Site, ...]) -> Mapping[str, Any]:
    """``items`` by ref, built once per tuple while it is among the last ones asked for."""
    key = id(items)
    with _BY_REF_LOCK:
        hit = _BY_REF.get(key)
        if hit is not None and hit[0] is items:
            _BY_REF.move_to_end(key)
            return hit[1]
    index: dict[str, Stop | Site] = {x.ref: x for x in items}
    with _BY_REF_LOCK:
        _BY_REF[key] = (items, index)  # holds the tuple: its id is not reused meanwhile
        while len(_BY_REF) > _BY_REF_SIZE:
            _BY_REF.popitem(last=False)
    return index
