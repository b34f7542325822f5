"""A city's inventory folder: ``bins.csv``, ``depots.csv``, ``vehicles.csv``, ``sites.csv``
(or ``inventory.geojson`` with ``vehicles.csv``) and ``downtimes.csv``, loaded and saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from fleet.errors import FleetDataError
from fleet.io.geojson import read_inventory_geojson
from fleet.io.rows import ImportResult, RowError, summarise_errors
from fleet.io.tables import (
    read_bins_csv,
    read_depots_csv,
    read_downtimes_csv,
    read_sites_csv,
    read_vehicles_csv,
    write_bins_csv,
    write_depots_csv,
    write_downtimes_csv,
    write_sites_csv,
    write_vehicles_csv,
)
from fleet.models import (
    Depot,
    Inventory,
    Vehicle,
)

# ----------------------------------------------------------------------------- directories

INVENTORY_FILES = {
    "bins": "bins.csv",
    "depots": "depots.csv",
    "vehicles": "vehicles.csv",
    "sites": "sites.csv",
}
INVENTORY_GEOJSON = "inventory.geojson"  # may replace the bins, depots and sites files
DOWNTIMES_FILE = "downtimes.csv"  # optional: trucks out of service


def places_file(directory: Path, kind: str) -> str:
    """The file of ``directory`` that :func:`load_inventory` reads ``kind`` from.

    Parameters
    ----------
    directory : Path
        An inventory directory.
    kind : {"bins", "depots", "sites"}
        The places asked about.

    Returns
    -------
    str
        ``inventory.geojson`` when the directory has one, else the kind's CSV file name.
    """
    if (Path(directory) / INVENTORY_GEOJSON).is_file():
        return INVENTORY_GEOJSON
    return INVENTORY_FILES[kind]


def _homed(
    vehicles: ImportResult[Vehicle], depots: Sequence[Depot], depots_file: str
) -> tuple[ImportResult[Vehicle], list[RowError]]:
    """``vehicles`` without those whose home depot is not among ``depots`` (read from
    ``depots_file``), and a row error naming each one's line and the fix (the
    :class:`~fleet.models.Inventory` check named the vehicle alone, not its file and row)."""
    known = {p.depot_id for p in depots}
    lines = vehicles.lines or (0,) * len(vehicles.records)
    kept: list[tuple[int, Vehicle]] = []
    errors: list[RowError] = []
    for line, v in zip(lines, vehicles.records, strict=True):
        if v.depot_id in known:
            kept.append((line, v))
            continue
        errors.append(
            RowError(
                line,
                v.vehicle_id,
                "depot_id",
                f"home depot {v.depot_id!r} is not in {depots_file}; add the depot there or "
                "fix depot_id",
            )
        )
    if not errors:
        return vehicles, []
    result = replace(
        vehicles,
        records=tuple(v for _, v in kept),
        lines=tuple(line for line, _ in kept) if vehicles.lines else (),
    )
    return result, errors


def load_inventory(
    directory: Path, *, strict: bool = True
) -> tuple[Inventory, tuple[RowError, ...]]:
    """Read ``bins.csv``, ``depots.csv``, ``vehicles.csv`` and ``sites.csv`` from a directory.

    ``inventory.geojson`` (bins, depots, sites) may replace the three place files; the
    vehicles always come from ``vehicles.csv``; the trucks' downtimes (out of service) from
    ``downtimes.csv`` when there is one (a downtime of a truck not in the inventory raises
    a :class:`FleetDataError` naming it, in either mode). With ``strict`` any bad row raises one
    :class:`FleetDataError` naming every bad row (file, line); otherwise the good rows form
    the inventory and the errors are returned (their messages prefixed with the file name).
    Columns the readers do not know are left aside, in either mode: returned as errors
    marked ``ignored`` (a city's file with an ``address`` column is read, not refused).
    """
    d = Path(directory)
    errors: list[RowError] = []

    def tagged(name: str, errs: Iterable[RowError]) -> None:
        errors.extend(replace(e, message=f"{name}: {e.message}") for e in errs)

    geo = d / INVENTORY_GEOJSON
    both = [f for k in ("bins", "depots", "sites") if (d / (f := INVENTORY_FILES[k])).is_file()]
    if geo.is_file() and both:
        raise FleetDataError(
            f"inventory in {d}: both {geo.name} and {', '.join(both)} list bins, depots or "
            f"sites; keep one of them (a plan would read {geo.name} alone)"
        )
    if geo.is_file():
        places = read_inventory_geojson(geo)
        tagged(geo.name, places.errors)
        bins, depots, sites = places.bins, places.depots, places.sites
    else:
        b = read_bins_csv(d / INVENTORY_FILES["bins"])
        dp = read_depots_csv(d / INVENTORY_FILES["depots"])
        st = read_sites_csv(d / INVENTORY_FILES["sites"])
        for name, res in (("bins", b), ("depots", dp), ("sites", st)):
            tagged(INVENTORY_FILES[name], res.errors)
        bins, depots, sites = b.records, dp.records, st.records
    vehicles = read_vehicles_csv(d / INVENTORY_FILES["vehicles"])
    tagged(INVENTORY_FILES["vehicles"], vehicles.errors)
    vehicles, homeless = _homed(vehicles, depots, places_file(d, "depots"))
    tagged(INVENTORY_FILES["vehicles"], homeless)
    down = d / DOWNTIMES_FILE
    downtimes = read_downtimes_csv(down) if down.is_file() else ImportResult(())
    tagged(DOWNTIMES_FILE, downtimes.errors)
    wrong = [e for e in errors if not e.ignored]  # columns left aside are warnings
    if strict and wrong:
        raise FleetDataError(summarise_errors(f"inventory in {d}", wrong))
    inv = Inventory(
        bins=bins,
        depots=depots,
        vehicles=vehicles.records,
        sites=sites,
        downtimes=downtimes.records,
    )
    return inv, tuple(errors)


def save_inventory(inventory: Inventory, directory: Path) -> None:
    """Write an inventory as the four CSV files read by :func:`load_inventory`, and
    ``downtimes.csv`` when it has downtimes."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    write_bins_csv(inventory.bins, d / INVENTORY_FILES["bins"])
    write_depots_csv(inventory.depots, d / INVENTORY_FILES["depots"])
    write_vehicles_csv(inventory.vehicles, d / INVENTORY_FILES["vehicles"])
    write_sites_csv(inventory.sites, d / INVENTORY_FILES["sites"])
    if inventory.downtimes:
        write_downtimes_csv(inventory.downtimes, d / DOWNTIMES_FILE)
