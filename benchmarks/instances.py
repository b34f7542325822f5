"""Parsers for the routing benchmarks: Kim et al. (2006) WCVRPTW and CVRPLIB "X" instances.

Both parsers return an :class:`optimiser.problem.Problem` whose ``matrix.points`` are the
raw planar coordinates of the file (x, y), not (lon, lat): that is fine for benchmarks,
which never draw or snap them.

Unit conversions (each in one named place below):

- Kim: coordinates in feet; distances are Manhattan feet (the benchmark page's rule),
  stored as integer metres (:func:`feet_to_m`); travel times are ``miles * 3600 / speed``
  seconds rounded to the nearest integer (:func:`feet_to_s`); loads in cubic yards are
  stored as integer hundredths of a cubic yard in the ``volume_l`` fields
  (:data:`KIM_VOLUME_SCALE`); HHMM clock values become seconds since midnight with
  ``HH = v // 100, MM = v % 100`` (:func:`hhmm_to_s`). Reported Kim distances are
  recomputed in miles from the raw coordinates (:func:`kim_route_miles`), so the
  rounding of the integer matrix never reaches the published figure.
- CVRPLIB: Euclidean distances rounded to the nearest integer (the X-instance rule) are
  stored in ``distance_m`` and, with no time windows, reused as the travel times.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from network.matrix import TravelMatrix
from optimiser.problem import Problem, Site, Stop, VehicleSpec

FEET_PER_MILE = 5280.0
METRES_PER_FOOT = 0.3048
KIM_VOLUME_SCALE = 100  # volume units per cubic yard (keeps two decimals)
KIM_STREAM = "residual"
KIM_BREAK_WINDOW_S = (11 * 3600, 12 * 3600)  # lunch must start between 11:00 and 12:00
KIM_COST_PER_KM = 1000
KIM_FIXED_COST = 10_000_000  # >> any route's distance cost: fewest vehicles first
CVRP_COST_PER_KM = 1000  # cost == integer CVRPLIB distance (distance_m * 1000 / 1000)
CVRP_SHIFT_S = (0, 10**8)


class BenchmarkFormatError(ValueError):
    """A benchmark file does not follow its format; the message names the file and line."""


# --------------------------------------------------------------------------- Kim (2006)


@dataclass(frozen=True, slots=True)
class KimNode:
    """One node row of a Kim file (raw units: feet, HHMM, seconds, cubic yards)."""

    node_id: int
    x_ft: float
    y_ft: float
    early_hhmm: int
    late_hhmm: int
    service_s: int
    load_yd3: float
    node_type: int


@dataclass(frozen=True, slots=True)
class KimInstance:
    """The raw content of a Kim file."""

    name: str
    capacity_yd3: float
    daily_yd3: float
    max_stops: int
    lunch_s: int
    speed_mph: float
    nodes: tuple[KimNode, ...]


def hhmm_to_s(value: int) -> int:
    """Seconds since midnight of an HHMM clock value (``HH = v // 100``, ``MM = v % 100``)."""
    return (value // 100) * 3600 + (value % 100) * 60


def feet_to_m(feet: np.ndarray) -> np.ndarray:
    """Feet to integer metres (nearest)."""
    return np.rint(feet * METRES_PER_FOOT).astype(np.int64)


def feet_to_s(feet: np.ndarray, speed_mph: float) -> np.ndarray:
    """Travel seconds over ``feet`` at ``speed_mph`` (nearest integer second)."""
    return np.rint(feet / FEET_PER_MILE * 3600.0 / speed_mph).astype(np.int64)


def yd3_to_units(yd3: float) -> int:
    """Cubic yards to integer volume units (hundredths of a cubic yard)."""
    return round(yd3 * KIM_VOLUME_SCALE)


def _header_value(line: str, path: Path, lineno: int) -> float:
    token = line.replace("\t", " ").split("//")[0].strip()
    try:
        return float(token)
    except ValueError as exc:
        raise BenchmarkFormatError(
            f"{path}:{lineno}: expected a number before '//', got {line.strip()!r}"
        ) from exc


def parse_kim(path: str | Path) -> KimInstance:
    """Read a Kim et al. (2006) ``*_stop.txt`` file (CRLF, tab or space separated)."""
    path = Path(path)
    lines = path.read_text(encoding="latin-1").splitlines()
    if len(lines) < 7:
        raise BenchmarkFormatError(f"{path}: {len(lines)} lines; a Kim file has >= 7")
    head = [_header_value(lines[i], path, i + 1) for i in range(5)]
    nodes: list[KimNode] = []
    for lineno, line in enumerate(lines[6:], start=7):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 8:
            raise BenchmarkFormatError(f"{path}:{lineno}: expected 8 columns, got {parts}")
        try:
            nodes.append(
                KimNode(
                    node_id=int(parts[0]),
                    x_ft=float(parts[1]),
                    y_ft=float(parts[2]),
                    early_hhmm=int(float(parts[3])),
                    late_hhmm=int(float(parts[4])),
                    service_s=round(float(parts[5])),
                    load_yd3=float(parts[6]),
                    node_type=int(float(parts[7])),
                )
            )
        except ValueError as exc:
            raise BenchmarkFormatError(f"{path}:{lineno}: bad number in {parts}") from exc
    depots = [n for n in nodes if n.node_type == 0]
    if len(depots) != 1:
        raise BenchmarkFormatError(f"{path}: expected one depot (type 0), found {len(depots)}")
    return KimInstance(
        name=path.name.removesuffix(".txt"),
        capacity_yd3=head[0],
        daily_yd3=head[1],
        max_stops=int(head[2]),
        lunch_s=int(head[3]),
        speed_mph=head[4],
        nodes=tuple(nodes),
    )


def manhattan_ft(nodes: Sequence[KimNode]) -> np.ndarray:
    """``(n, n)`` float Manhattan distances in feet between the nodes."""
    xy = np.array([(n.x_ft, n.y_ft) for n in nodes], dtype=float)
    out: np.ndarray = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    return out


def kim_fleet_bound(inst: KimInstance) -> int:
    """A generous number of identical trucks for a Kim instance.

    Kim gives no fleet size (the number of vehicles is the first objective), so we offer
    twice a lower bound (by daily volume and by service time per shift) plus two.
    """
    depot = next(n for n in inst.nodes if n.node_type == 0)
    stops = [n for n in inst.nodes if n.node_type == 1]
    total = sum(n.load_yd3 for n in stops)
    shift = hhmm_to_s(depot.late_hhmm) - hhmm_to_s(depot.early_hhmm) - inst.lunch_s
    by_load = math.ceil(total / min(inst.daily_yd3, inst.capacity_yd3 * 50))
    by_time = math.ceil(sum(n.service_s for n in stops) / max(shift, 1))
    return 2 * max(by_load, by_time, 1) + 2


def read_kim(
    path: str | Path,
    *,
    vehicles: int | None = None,
    fixed_cost: int = KIM_FIXED_COST,
) -> Problem:
    """Kim et al. (2006) instance as a :class:`Problem`.

    Matrix rows follow the file rows (row 0 the depot). Stops and sites keep their
    ``Stop_ID`` as ref. Every truck is identical: ``capacity_l`` = vehicle capacity and
    ``max_daily_l`` = route capacity (both in hundredths of yd3), ``max_stops``, a
    ``lunch_s`` break starting 11:00-12:00, shift = depot hours, ``fixed_cost`` (default
    huge: minimise vehicles, then distance; time costs nothing), and ``return_empty``.

    Parameters
    ----------
    path : str or Path
        A ``*_stop.txt`` file.
    vehicles : int, optional
        Fleet size; default :func:`kim_fleet_bound`.
    fixed_cost : int
        Cost units per truck used.
    """
    inst = parse_kim(path)
    feet = manhattan_ft(inst.nodes)
    matrix = TravelMatrix(
        duration_s=feet_to_s(feet, inst.speed_mph),
        distance_m=feet_to_m(feet),
        points=tuple((n.x_ft, n.y_ft) for n in inst.nodes),
    )
    depot_row = next(i for i, n in enumerate(inst.nodes) if n.node_type == 0)
    depot = inst.nodes[depot_row]
    stops = tuple(
        Stop(
            ref=str(n.node_id),
            location=i,
            volume_l=yd3_to_units(n.load_yd3),
            weight_kg=0,
            service_s=n.service_s,
            window_s=(hhmm_to_s(n.early_hhmm), hhmm_to_s(n.late_hhmm)),
            stream=KIM_STREAM,
        )
        for i, n in enumerate(inst.nodes)
        if n.node_type == 1
    )
    sites = tuple(
        Site(
            ref=str(n.node_id),
            location=i,
            streams=frozenset({KIM_STREAM}),
            window_s=(hhmm_to_s(n.early_hhmm), hhmm_to_s(n.late_hhmm)),
            unload_s=n.service_s,
        )
        for i, n in enumerate(inst.nodes)
        if n.node_type == 2
    )
    count = vehicles if vehicles is not None else kim_fleet_bound(inst)
    total_units = sum(s.volume_l for s in stops)
    fleet = tuple(
        VehicleSpec(
            ref=f"truck-{k + 1}",
            start=depot_row,
            end=depot_row,
            capacity_l=yd3_to_units(inst.capacity_yd3),
            capacity_kg=1,
            streams=frozenset({KIM_STREAM}),
            shift_s=(hhmm_to_s(depot.early_hhmm), hhmm_to_s(depot.late_hhmm)),
            break_s=inst.lunch_s,
            break_window_s=KIM_BREAK_WINDOW_S,
            cost_per_km=KIM_COST_PER_KM,
            cost_per_hour=0,
            fixed_cost=fixed_cost,
            max_stops=inst.max_stops,
            max_daily_l=min(yd3_to_units(inst.daily_yd3), max(total_units, 1)),
        )
        for k in range(count)
    )
    return Problem(matrix=matrix, stops=stops, vehicles=fleet, sites=sites, return_empty=True)


def kim_route_miles(points: Sequence[tuple[float, float]], locations: Sequence[int]) -> float:
    """Manhattan length in miles of a path through matrix rows ``locations`` (feet coords)."""
    feet = 0.0
    for a, b in itertools.pairwise(locations):
        (xa, ya), (xb, yb) = points[a], points[b]
        feet += abs(xa - xb) + abs(ya - yb)
    return feet / FEET_PER_MILE


# --------------------------------------------------------------------------- CVRPLIB


@dataclass(frozen=True, slots=True)
class CvrpInstance:
    """The raw content of a CVRPLIB file (node order as in the file, depot first)."""

    name: str
    capacity: int
    coords: tuple[tuple[float, float], ...]
    demands: tuple[int, ...]
    depot: int


_SECTION = re.compile(r"^([A-Z_]+)\s*(?::\s*(.*))?$")


def parse_cvrplib(path: str | Path) -> CvrpInstance:
    """Read a TSPLIB-style CVRP file with ``EDGE_WEIGHT_TYPE : EUC_2D`` and one depot."""
    path = Path(path)
    spec: dict[str, str] = {}
    coords: dict[int, tuple[float, float]] = {}
    demands: dict[int, int] = {}
    depots: list[int] = []
    section = ""
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line == "EOF":
            continue
        match = _SECTION.match(line)
        if match and not line[0].isdigit() and not line.startswith("-"):
            key, value = match.group(1), match.group(2)
            if value is None:
                section = key
            else:
                spec[key] = value.strip().strip('"')
            continue
        parts = line.split()
        try:
            if section == "NODE_COORD_SECTION":
                coords[int(parts[0])] = (float(parts[1]), float(parts[2]))
            elif section == "DEMAND_SECTION":
                demands[int(parts[0])] = int(parts[1])
            elif section == "DEPOT_SECTION" and int(parts[0]) != -1:
                depots.append(int(parts[0]))
        except (ValueError, IndexError) as exc:
            raise BenchmarkFormatError(f"{path}:{lineno}: cannot read {line!r}") from exc
    if spec.get("EDGE_WEIGHT_TYPE") != "EUC_2D":
        raise BenchmarkFormatError(f"{path}: only EDGE_WEIGHT_TYPE EUC_2D is supported")
    if len(depots) != 1 or set(coords) != set(demands):
        raise BenchmarkFormatError(f"{path}: need one depot and a demand for every node")
    ids = sorted(coords)
    if ids[0] != depots[0]:
        raise BenchmarkFormatError(f"{path}: the depot must be the first node")
    return CvrpInstance(
        name=spec.get("NAME", path.stem),
        capacity=int(spec["CAPACITY"]),
        coords=tuple(coords[i] for i in ids),
        demands=tuple(demands[i] for i in ids),
        depot=0,
    )


def euclidean_rounded(coords: Sequence[tuple[float, float]]) -> np.ndarray:
    """``(n, n)`` int64 Euclidean distances rounded to the nearest integer (CVRPLIB X)."""
    xy = np.asarray(coords, dtype=float)
    diff = xy[:, None, :] - xy[None, :, :]
    out: np.ndarray = np.rint(np.sqrt((diff**2).sum(axis=2))).astype(np.int64)
    return out


def cvrp_fleet_bound(inst: CvrpInstance) -> int:
    """Trucks offered: the bin-packing lower bound plus 20 % (at least 3) spare."""
    need = math.ceil(sum(inst.demands) / inst.capacity)
    return need + max(3, math.ceil(0.2 * need))


def read_cvrplib(path: str | Path, *, vehicles: int | None = None) -> Problem:
    """CVRPLIB instance as a :class:`Problem`.

    Row 0 is the depot and row ``k`` the ``k``-th customer (so a ``.sol`` customer number
    is a matrix row). Stops are refs ``"1"``..``"n"``; demand is ``volume_l``; travel time
    equals distance; the shift is wide; no sites; distance-only cost (``cost_per_km=1000``
    makes one cost unit per distance unit); ``vehicles`` default :func:`cvrp_fleet_bound`.
    """
    inst = parse_cvrplib(path)
    dist = euclidean_rounded(inst.coords)
    matrix = TravelMatrix(duration_s=dist.copy(), distance_m=dist, points=inst.coords)
    stops = tuple(
        Stop(ref=str(i), location=i, volume_l=inst.demands[i], weight_kg=0, service_s=0)
        for i in range(1, len(inst.coords))
    )
    count = vehicles if vehicles is not None else cvrp_fleet_bound(inst)
    fleet = tuple(
        VehicleSpec(
            ref=f"truck-{k + 1}",
            start=0,
            end=0,
            capacity_l=inst.capacity,
            capacity_kg=1,
            streams=frozenset({"residual"}),
            shift_s=CVRP_SHIFT_S,
            cost_per_km=CVRP_COST_PER_KM,
            cost_per_hour=0,
        )
        for k in range(count)
    )
    return Problem(matrix=matrix, stops=stops, vehicles=fleet, sites=(), return_empty=False)


def read_cvrplib_solution(path: str | Path) -> tuple[list[list[int]], int]:
    """Routes (customer numbers = matrix rows) and the stated cost of a CVRPLIB ``.sol``."""
    path = Path(path)
    routes: list[list[int]] = []
    cost: int | None = None
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if line.startswith("Route"):
            _, _, rest = line.partition(":")
            routes.append([int(tok) for tok in rest.split()])
        elif line.startswith("Cost"):
            try:
                cost = round(float(line.split()[1]))
            except (IndexError, ValueError) as exc:
                raise BenchmarkFormatError(f"{path}:{lineno}: bad cost line {line!r}") from exc
    if cost is None:
        raise BenchmarkFormatError(f"{path}: no 'Cost' line")
    return routes, cost


def route_cost(dist: np.ndarray, routes: Sequence[Sequence[int]], depot: int = 0) -> int:
    """Total integer distance of closed routes from and to ``depot``."""
    total = 0
    for route in routes:
        path = [depot, *route, depot]
        total += int(sum(dist[a, b] for a, b in itertools.pairwise(path)))
    return total
