"""Jobs the command runs on a city's own files: inventory + readings -> checked plan files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path

from binroute.inputs import (
    after_start,
    csv_rows,
    far_reports,
    names_known_bins,
    not_stale,
    old_readings_note,
    read_pickups,
    read_readings,
    unknown_bins,
    unknown_fills_note,
    zone,
)
from fleet.errors import FleetDataError
from fleet.io import (
    load_inventory,
    places_file,
)
from fleet.models import CitizenReport, Inventory, collection_period
from network import (
    MAX_SNAP_M,
    GraphSettings,
    HaversineProvider,
    SnapError,
    StreetNetwork,
    StreetProvider,
    WithinReach,
    load_network,
    within_reach,
)
from network.language import DEFAULT_LANGUAGE
from network.speeds import DEFAULT_SETTINGS
from optimiser.daily import DayPlan, ProgressFn, Provider, plan_day
from optimiser.params import SolveParams
from scenarios.outputs import split_snappable, write_day_outputs


@dataclass(frozen=True, slots=True, kw_only=True)
class FilePlan:
    """The outcome of :func:`plan_from_files`."""

    day: DayPlan
    files: tuple[Path, ...]
    excluded: tuple[tuple[str, str], ...]


def _with_notes(day: DayPlan, notes: Sequence[str]) -> DayPlan:
    """``day`` with ``notes`` (on its inputs) before its plan's own."""
    if not notes:
        return day
    return replace(day, plan=replace(day.plan, notes=(*notes, *day.plan.notes)))


RAISE = ", or raise --max-snap-m"  # how the command's user raises the snap limit


Place = tuple[str, str, float, float, str]  # kind, ref, lon, lat, the file it came from


def _places(inventory: Inventory, inventory_dir: Path, *, bins: bool = False) -> list[Place]:
    """The depots and disposal sites of ``inventory`` (and its bins with ``bins``), each as
    (kind, ref, lon, lat, the file of ``inventory_dir`` it was read from)."""
    places = [
        ("depot", d.depot_id, d.lon, d.lat, places_file(inventory_dir, "depots"))
        for d in inventory.depots
    ] + [
        ("disposal site", s.site_id, s.lon, s.lat, places_file(inventory_dir, "sites"))
        for s in inventory.sites
    ]
    if bins:
        file = places_file(inventory_dir, "bins")
        places += [("bin", b.bin_id, b.lon, b.lat, file) for b in inventory.bins]
    return places


def _far_places(
    network: StreetNetwork, inventory: Inventory, inventory_dir: Path, max_snap_m: float
) -> None:
    """A SnapError naming every depot and disposal site of ``inventory`` farther than
    ``max_snap_m`` from every drivable street, with the file it was read from: trucks start,
    end and unload there, so the command stops rather than print a plan without them (the
    service, planning every night, leaves them out with a note:
    ``optimiser.daily.route_day``)."""
    places = _places(inventory, inventory_dir)
    points = [(p[2], p[3]) for p in places]
    away = network.far_points(points, max_snap_m)
    swapped = network.swapped_near(points, away, max_snap_m)
    cut_off = network.cut_off_near(points, away, max_snap_m)
    far = [
        f"{file}: {kind} {ref} ({lon:.6f}, {lat:.6f}) is {away[i]:.0f} m from the nearest "
        f"drivable street (limit {max_snap_m:.0f} m); "
        + (
            cut_off[i]
            if i in cut_off
            else f"{swapped[i]} in {file}"
            if i in swapped
            else f"fix its lon/lat in {file}{RAISE}"
        )
        for i, (kind, ref, lon, lat, file) in enumerate(places)
        if i in away
    ]
    if far:
        raise SnapError("\n".join(far))


def _stray_places(
    inventory: Inventory, inventory_dir: Path, provider: HaversineProvider
) -> tuple[Inventory, list[tuple[str, str]]]:
    """Without a street file: ``inventory`` without the bins farther than a truck drives in
    a day (``provider``'s straight lines) from the middle of the inventory's places
    (:func:`network.within_reach`), and (record, reason) for each: "(lon, lat) is 6,020 km
    from the middle of the inventory's places (lon, lat), farther than a truck drives in a
    day (462 km in a straight line); fix its lon/lat in bins.csv", or that its lon and lat
    look swapped. Such a depot or disposal site stops the job with a FleetDataError naming
    each and its file (as :func:`_far_places` with a street file). Straight-line times
    route to any point, so a digit dropped from a latitude was planned as days of driving:
    a bin due there unserved, "the nearest truck is 13 d 01 h away", and with a depot so
    placed, its every bin."""
    places = _places(inventory, inventory_dir, bins=True)
    points = [(p[2], p[3]) for p in places]
    near = within_reach(provider, points, whose="inventory's")
    if not isinstance(near, WithinReach):
        return inventory, []
    away = near.far_points(points)
    swapped = near.swapped_near(points, away)
    said = {
        i: f"({lon:.6f}, {lat:.6f}) is {near.far_said(away[i])}; "
        + (f"{swapped[i]} in {file}" if i in swapped else f"fix its lon/lat in {file}")
        for i, (_, _, lon, lat, file) in enumerate(places)
        if i in away
    }
    if any(places[i][0] != "bin" for i in said):
        stop = [f"{places[i][4]}: {places[i][0]} {places[i][1]} {said[i]}" for i in said]
        raise FleetDataError("\n".join(stop))
    gone = {places[i][1] for i in said}
    kept = replace(inventory, bins=tuple(b for b in inventory.bins if b.bin_id not in gone))
    return kept, [(f"bin {places[i][1]}", said[i]) for i in said]


def _provider(
    inventory: Inventory,
    inventory_dir: Path,
    city: Path | None,
    max_snap_m: float,
    truck: GraphSettings,
) -> tuple[Inventory, Provider, StreetNetwork | None, list[tuple[str, str]]]:
    if city is None:
        straight = HaversineProvider()
        kept, strayed = _stray_places(inventory, inventory_dir, straight)
        return kept, straight, None, strayed
    network = load_network(city, settings=truck)
    _far_places(network, inventory, inventory_dir, max_snap_m)
    fix = f"fix its coordinates{RAISE}"
    bins, excluded = split_snappable(network, inventory.bins, max_snap_m, fix=fix)
    kept = replace(inventory, bins=tuple(bins))
    return kept, StreetProvider(network, max_snap_m=max_snap_m), network, excluded


def plan_from_files(
    *,
    inventory_dir: Path,
    readings_path: Path | None,
    reports_path: Path | None,
    city: Path | None,
    pickups_path: Path | None = None,
    plan_date: date,
    tz_name: str,
    out: Path,
    params: SolveParams,
    max_snap_m: float = MAX_SNAP_M,
    progress: ProgressFn | None = None,
    start: time | None = None,
    truck: GraphSettings = DEFAULT_SETTINGS,
    language: str = DEFAULT_LANGUAGE,
) -> FilePlan:
    """Plan ``plan_date`` from a city's files and write plan.json, routes.geojson, map.html.

    Bad rows of the readings, reports and pickups files are listed in ``excluded`` (good rows
    are used; a file with no good row stops the job), and so are rows dated after the first
    shift of the day; a bad inventory row stops the job with a FleetDataError naming every
    bad row, and depots and disposal sites too far from every street (``max_snap_m``, metres;
    --max-snap-m) with a SnapError naming each and its file; far bins are left out, listed.
    Pickups (the trucks' log with the fills found, or the weights their lift scales took)
    give the last emptying of each bin and let bins without a sensor learn their own fill
    rate; the weights teach the bins' densities.
    Without ``city`` travel times are straight-line estimates (HaversineProvider), and
    a place thousands of km from the others is left out or stops the job
    (:func:`_stray_places`).
    ``start`` (local clock time): a plan made after the shifts began starts then
    (``optimiser.daily.plan_day``'s ``start_at``); rows up to then are used. ``truck``: how
    ``city``'s streets are read for the trucks (their height and weight against the streets'
    limits: --truck-height-m, --truck-weight-kg).
    """
    tz = zone(tz_name)
    inventory, left_aside = load_inventory(inventory_dir, strict=True)  # unknown columns
    readings, bad_readings = read_readings(readings_path, inventory) if readings_path else ((), ())
    reports, bad_reports = csv_rows(CitizenReport, reports_path)
    pickups, bad_pickups = read_pickups(pickups_path, inventory) if pickups_path else ((), ())
    names_known_bins(readings_path, readings, inventory)
    unknown = unknown_bins(
        inventory,
        [
            (readings_path, [r.bin_id for r in readings]),
            (reports_path, [r.bin_id for r in reports if r.bin_id]),
            (pickups_path, [p.bin_id for p in pickups]),
        ],
    )
    inventory, provider, network, far = _provider(inventory, inventory_dir, city, max_snap_m, truck)
    known = {b.bin_id for b in inventory.bins}
    readings = tuple(r for r in readings if r.bin_id in known)
    reports = tuple(r for r in reports if r.bin_id is None or r.bin_id in known)
    pickups = tuple(p for p in pickups if p.bin_id in known)
    start_at = datetime.combine(plan_date, start, tzinfo=tz) if start is not None else None
    first, _ = collection_period(inventory, plan_date, tz)
    first = max(first, start_at) if start_at is not None else first
    not_stale(readings_path, readings, first)
    late = [
        *after_start(readings_path, readings, first),
        *after_start(reports_path, reports, first),
        *after_start(pickups_path, pickups, first),
    ]
    day = plan_day(
        inventory,
        readings,
        reports,
        provider,
        plan_date=plan_date,
        tz=tz,
        params=params,
        progress=progress,
        pickups=pickups,
        start_at=start_at,
    )
    notes = (
        *unknown_fills_note(readings_path, pickups_path, reports),
        *old_readings_note(readings_path, readings, first, day, pickups),
    )
    day = _with_notes(day, notes)
    excluded: Sequence[tuple[str, str]] = [
        *((f"inventory {e.label}", e.message) for e in left_aside),
        *bad_readings,
        *bad_reports,
        *far_reports(inventory, reports),
        *bad_pickups,
        *unknown,
        *far,
        *late,
    ]
    files = write_day_outputs(
        day, out, network=network, excluded=excluded, max_snap_m=max_snap_m, language=language
    )
    return FilePlan(day=day, files=files, excluded=tuple(excluded))
