"""Jobs the command runs on a city's own files: inventory + readings -> checked plan files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.errors import FleetDataError
from fleet.fill import FillConfig, match_reports, nearest_bin
from fleet.io import (
    RowError,
    load_inventory,
    places_file,
    read_csv,
    read_fiware_waste_containers,
    read_pickups_csv,
    read_readings_csv,
)
from fleet.models import CitizenReport, FillReading, Inventory, PickupRecord, collection_period
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

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class FilePlan:
    """The outcome of :func:`plan_from_files`."""

    day: DayPlan
    files: tuple[Path, ...]
    excluded: tuple[tuple[str, str], ...]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` or a FleetDataError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FleetDataError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Helsinki"
        ) from None


def _row_errors(path: Path, errors: Sequence[RowError]) -> tuple[tuple[str, str], ...]:
    return tuple((f"{path.name} {e.label}", e.message) for e in errors)


def _some_good(path: Path, records: Sequence[object], errors: Sequence[RowError]) -> None:
    """A file whose every row is bad (e.g. fills in percent, times without an offset) is
    a wrong file, not data: a FleetDataError naming its first problems."""
    if records or not errors:
        return
    header = errors[0].unit == "row"  # a CSV's line 1 is its header, not a record
    rows = len({e.row for e in errors if e.row > 1 or not header})  # a row's errors once
    lines = [
        f"{path.name}: none of its {rows} {errors[0].units} could be used; is it the right file?"
        if rows
        else f"{path.name}: no row was read, for its header is wrong (below); is it the right file?"
    ]
    lines += [f"  {e}" for e in errors[:5]]
    if len(errors) > 5:
        lines.append(f"  ... and {len(errors) - 5} more like these")
    raise FleetDataError("\n".join(lines))


def read_readings(
    path: Path, inventory: Inventory
) -> tuple[tuple[FillReading, ...], tuple[tuple[str, str], ...]]:
    """Readings from a CSV file or a FIWARE WasteContainer JSON file (by extension); the
    weights of sensors that only weigh become fills at the densities of ``inventory``.

    Returns the good readings and (record, reason) for each bad row, and one counting the
    rows (FIWARE entities) that repeat an earlier one (read once; the same bin and time with
    other values is a bad row). A file with no reading at all (a header alone, ``[]``) is a
    FleetDataError: planned on it, every bin would be forecast from nothing, with nothing
    to say so.
    """
    if path.suffix.lower() == ".json":
        fiware = read_fiware_waste_containers(path, inventory=inventory)
        records, errors, repeats = tuple(fiware.readings), fiware.errors, fiware.duplicates
        each, many = "entity", "entity(ies)"
    else:
        result = read_readings_csv(path, inventory)
        records, errors, repeats = result.records, result.errors, result.duplicates
        each, many = "row", "row(s)"
    if not records and not errors:
        raise FleetDataError(f"{path.name} has no readings; is it the right file?")
    _some_good(path, records, errors)
    resent = (
        path.name,
        f"{repeats} {many} repeating an earlier {each} (same bin, time and values) read once",
    )
    return tuple(records), (*_row_errors(path, errors), *([resent] if repeats else []))


def read_pickups(
    path: Path, inventory: Inventory
) -> tuple[tuple[PickupRecord, ...], tuple[tuple[str, str], ...]]:
    """The trucks' pickups from a CSV file; the weights their lift scales took from bins
    the crews gave no fill for become fills at the densities of ``inventory``.

    Returns the good pickups and (record, reason) for each bad row.
    """
    result = read_pickups_csv(path, inventory)
    _some_good(path, result.records, result.errors)
    return tuple(result.records), _row_errors(path, result.errors)


def _csv_rows(cls: type[T], path: Path | None) -> tuple[tuple[T, ...], tuple[tuple[str, str], ...]]:
    """Good records of type ``cls`` from a CSV file and (record, reason) for each bad row."""
    if path is None:
        return (), ()
    result = read_csv(cls, path)
    _some_good(path, result.records, result.errors)
    return tuple(result.records), _row_errors(path, result.errors)


STALE_READINGS_DAYS = 30  # a newest reading older than this before the day: a wrong date?


def _not_stale(path: Path | None, readings: Sequence[FillReading], first: datetime) -> None:
    """A FleetDataError when the newest of ``readings`` is more than
    :data:`STALE_READINGS_DAYS` before ``first`` (the day's first shift): a --date a year
    off forecast bins at 2244 % full, with nothing to say so; and when every one is after
    ``first`` (a --date in the past): the bins were forecast from nothing."""
    if path is None or not readings:
        return
    oldest = min(r.at for r in readings)
    if oldest > first:
        raise FleetDataError(
            f"{path.name}: every reading is dated after the day planned starts "
            f"({first.isoformat()}), the oldest at {oldest.isoformat()}: no fill of then is "
            "known; check --date (and --start), or the file"
        )
    newest = max(r.at for r in readings)
    days = (first - newest).total_seconds() / 86400
    if days > STALE_READINGS_DAYS:
        raise FleetDataError(
            f"{path.name}: its newest reading ({newest.isoformat()}) is {days:.0f} days before "
            f"the day planned ({first.date().isoformat()}); check --date, or the file"
        )


OLD_READINGS_DAYS = 3.0
"""A newest reading more than this before the day's first shift gets a plan note. Sensors
report several times a day and a city's export is at most a day or two old (a weekend), so
a longer gap is a feed that stopped or a file exported long ago: every fill since is
extrapolated at the rate learned, not read, and the forecasts drift (readings 25 days old
forecast bins at 1846 % full), while :data:`STALE_READINGS_DAYS` stops the job."""


def _old_readings_note(
    path: Path | None,
    readings: Sequence[FillReading],
    first: datetime,
    day: DayPlan,
    pickups: Sequence[PickupRecord] = (),
) -> tuple[str, ...]:
    """A note when the newest of ``readings`` is more than :data:`OLD_READINGS_DAYS` before
    ``first`` (the day's first shift, or the plan's start), naming its age, the highest
    forecast of ``day`` and what the gap means for the forecasts; none otherwise. A bin the
    trucks emptied (``pickups``) within that time is known since: none when every bin read
    was, and the note counts those that were not."""
    used = [r for r in readings if r.at <= first]  # later ones are listed as not used
    if path is None or not used:
        return ()
    newest = max(r.at for r in used)
    days = (first - newest).total_seconds() / 86400
    if days <= OLD_READINGS_DAYS:
        return ()
    gap = timedelta(days=OLD_READINGS_DAYS)
    emptied = {p.bin_id for p in pickups if first - gap <= p.at <= first}  # after every reading
    read = {r.bin_id for r in used}
    if read <= emptied:
        return ()
    top = max(
        (d.expected_fill_fraction for d in day.decisions if d.bin_id not in emptied), default=0.0
    )
    which = (
        f"the fill since of {len(read - emptied)} of the {len(read)} bins read (the others were "
        "emptied since, by --pickups)"
        if read & emptied
        else "every fill since"
    )
    return (
        f"{path.name}: the newest reading ({newest.isoformat(timespec='minutes')}) is {days:.1f} "
        f"days before the day starts ({first.isoformat()}): {which} is extrapolated at "
        f"the rate learned, not read, so the forecasts are guesses that grow with the gap (the "
        f"highest is {top:.0%} full), and bins emptied since are known only from --pickups; "
        "check that the sensors still report, or give a newer file",
    )


def _unknown_fills_note(
    readings_path: Path | None, pickups_path: Path | None, reports: Sequence[CitizenReport]
) -> tuple[str, ...]:
    """A note when neither readings nor pickups were given: no bin's fill is known, and each
    is forecast from the defaults of :class:`fleet.fill.FillConfig` (named, with the citizen
    reports, which alone say anything of a bin); none otherwise."""
    if readings_path is not None or pickups_path is not None:
        return ()
    cfg = FillConfig()
    also = f", but for the bins the {len(reports)} citizen report(s) name" if reports else ""
    return (
        "no --readings and no --pickups: no bin's fill is known"
        f"{also}; each is assumed {cfg.unknown_fill:.0%} full when the day starts, filling "
        f"at {cfg.default_rate_per_h * 24:.0%} a day, so the bins chosen rest on that "
        "assumption, not on data; give the sensors' readings (--readings) or the trucks' "
        "pickup log (--pickups)",
    )


def _with_notes(day: DayPlan, notes: Sequence[str]) -> DayPlan:
    """``day`` with ``notes`` (on its inputs) before its plan's own."""
    if not notes:
        return day
    return replace(day, plan=replace(day.plan, notes=(*notes, *day.plan.notes)))


def _names_known_bins(
    path: Path | None, readings: Sequence[FillReading], inventory: Inventory
) -> None:
    """A FleetDataError when no reading of ``path`` names a bin of ``inventory`` (another
    city's file, or bins renumbered): planned on it, every bin would be forecast from
    nothing, as on an empty file."""
    known = {b.bin_id for b in inventory.bins}
    if path is None or not readings or any(r.bin_id in known for r in readings):
        return
    named = sorted({r.bin_id for r in readings})
    some = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    raise FleetDataError(
        f"{path.name}: none of its readings names a bin of the inventory (it names {some}); "
        "is it the right file, or the right inventory?"
    )


def _far_reports(inventory: Inventory, reports: Sequence[CitizenReport]) -> list[tuple[str, str]]:
    """(record, reason) for each citizen report with a location but no bin of ``inventory``
    near enough to be the one meant (``fleet.fill.match_reports``): no bin is alerted by
    it, which the plan would not say."""
    _, unmatched = match_reports(inventory.bins, reports)
    out = []
    for r in unmatched:
        if r.lon is None or r.lat is None:
            continue  # its bin_id is not listed: said with the unknown bins
        near = nearest_bin(inventory.bins, r.lon, r.lat)
        if near is not None:
            out.append(
                (
                    f"report {r.report_id}",
                    f"({r.lon:.6f}, {r.lat:.6f}) is {near[1]:.0f} m from the nearest bin "
                    f"{near[0].bin_id}: too far to alert it; fix the location or give its bin_id",
                )
            )
    return out


def _rows_of(name: str) -> str:
    """What a file's records are called: a FIWARE file's entities, a CSV file's rows."""
    return "entity(ies)" if name.lower().endswith(".json") else "row(s)"


def _unknown_bins(
    inventory: Inventory, refs: Sequence[tuple[Path | None, Sequence[str]]]
) -> list[tuple[str, str]]:
    """(record, reason) for readings, reports and pickups naming bins the inventory lacks,
    with the rows of each file (``refs``: each file and the bin ids its rows name)."""
    known = {b.bin_id for b in inventory.bins}
    counts: dict[str, dict[str, int]] = {}
    for path, ids in refs:
        for ref in ids:
            if path is not None and ref not in known:
                files = counts.setdefault(ref, {})
                files[path.name] = files.get(path.name, 0) + 1
    return [
        (
            f"bin {ref}",
            " and ".join(f"{n} {_rows_of(name)} of {name}" for name, n in files.items())
            + " name a bin not in the inventory; add it, or fix their bin_id",
        )
        for ref, files in sorted(counts.items())
    ]


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


def _after_start(
    path: Path | None,
    records: Sequence[FillReading | CitizenReport | PickupRecord],
    start: datetime,
) -> list[tuple[str, str]]:
    """(file, reason) when rows of ``path`` are dated after ``start`` (the first shift of the
    planned day, or when the plan starts): the forecast reads the bins at that moment, so
    later rows are not used."""
    late = [r.at for r in records if r.at > start]
    if path is None or not late:
        return []
    return [
        (
            path.name,
            f"{len(late)} row(s) dated after {start.isoformat()}, when the planned day "
            f"starts (latest {max(late).isoformat()}), were not used; check --date and --start",
        )
    ]


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
    reports, bad_reports = _csv_rows(CitizenReport, reports_path)
    pickups, bad_pickups = read_pickups(pickups_path, inventory) if pickups_path else ((), ())
    _names_known_bins(readings_path, readings, inventory)
    unknown = _unknown_bins(
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
    _not_stale(readings_path, readings, first)
    late = [
        *_after_start(readings_path, readings, first),
        *_after_start(reports_path, reports, first),
        *_after_start(pickups_path, pickups, first),
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
        *_unknown_fills_note(readings_path, pickups_path, reports),
        *_old_readings_note(readings_path, readings, first, day, pickups),
    )
    day = _with_notes(day, notes)
    excluded: Sequence[tuple[str, str]] = [
        *((f"inventory {e.label}", e.message) for e in left_aside),
        *bad_readings,
        *bad_reports,
        *_far_reports(inventory, reports),
        *bad_pickups,
        *unknown,
        *far,
        *late,
    ]
    files = write_day_outputs(
        day, out, network=network, excluded=excluded, max_snap_m=max_snap_m, language=language
    )
    return FilePlan(day=day, files=files, excluded=tuple(excluded))
