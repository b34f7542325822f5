"""FIWARE Smart Data Models ``WasteContainer`` entities (NGSI-v2, normalized or keyValues):
bins and their readings in, and out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.errors import FleetDataError
from fleet.io.geojson import _load_json
from fleet.io.rows import RowError, Source, _as_unit, summarise_errors
from fleet.io.tables import _once_per_instant, _weights_as_fills
from fleet.io.values import parse_datetime
from fleet.models import (
    DEFAULT_STREAM,
    Bin,
    FillReading,
    Inventory,
    WeightReading,
)

# ----------------------------------------------------------------------------- FIWARE

FIWARE_ID_PREFIX = "urn:ngsi-ld:WasteContainer:"
# Smart Data Models ``storedWasteKind`` values -> our stream names.
FIWARE_KIND_TO_STREAM: dict[str, str] = {
    "organic": "organic",
    "inorganic": "residual",
    "glass": "glass",
    "plastic": "plastic",
    "paper": "paper",
    "other": "residual",
}
_STREAM_TO_FIWARE_KIND = {"residual": "inorganic"}


@dataclass(frozen=True, slots=True)
class FiwareImport:
    """Readings (and bins, when a capacity is known) read from WasteContainer entities;
    ``duplicates``: entities left out as repeats of an earlier entity's reading (a resend)."""

    readings: tuple[FillReading, ...]
    bins: tuple[Bin, ...]
    errors: tuple[RowError, ...] = ()
    duplicates: int = 0

    def raise_if_errors(self, what: str = "FIWARE WasteContainer") -> FiwareImport:
        """Return self, or raise one :class:`FleetDataError` listing every bad entity."""
        if self.errors:
            raise FleetDataError(summarise_errors(what, self.errors))
        return self


def _unwrap(v: Any) -> Any:
    """NGSI-v2 normalized ``{"type": ..., "value": v}`` -> ``v``; keyValues unchanged."""
    if isinstance(v, dict) and "value" in v:
        return v["value"]
    return v


def _bin_id_of(entity_id: str) -> str:
    return entity_id.removeprefix(FIWARE_ID_PREFIX)


def _fiware_time(ent: Mapping[str, Any]) -> tuple[str, Any]:
    for key in ("dateObserved", "dateUpdated", "dateModified"):
        if ent.get(key) is not None:
            return key, _unwrap(ent[key])
    return "dateObserved", None


def _fiware_bin(ent: Mapping[str, Any], bin_id: str, capacity_l: int | None) -> Bin | None:
    loc = _unwrap(ent.get("location"))
    if capacity_l is None or not isinstance(loc, dict):
        return None
    lon, lat = loc["coordinates"][:2]
    kinds = _unwrap(ent.get("storedWasteKind"))
    kind = kinds[0] if isinstance(kinds, list) and kinds else kinds
    stream = FIWARE_KIND_TO_STREAM.get(str(kind), str(kind)) if kind else DEFAULT_STREAM
    return Bin(bin_id=bin_id, lon=float(lon), lat=float(lat), capacity_l=capacity_l, stream=stream)


def _fiware_entity(
    ent: Any, idx: int, capacity_l: Mapping[str, int], default_capacity_l: int | None
) -> tuple[FillReading | WeightReading, Bin | None] | RowError:
    if not isinstance(ent, dict) or not ent.get("id"):
        return RowError(idx, None, "id", "entity has no id")
    bin_id = _bin_id_of(str(ent["id"]))
    if ent.get("type", "WasteContainer") != "WasteContainer":
        return RowError(idx, bin_id, "type", f"type {ent.get('type')!r} is not WasteContainer")
    key, when = _fiware_time(ent)
    level = _unwrap(ent.get("fillingLevel"))
    weight = _unwrap(ent.get("cargoWeight"))
    try:
        if when is None:
            raise ValueError("no dateObserved/dateUpdated/dateModified; add the observation time")
        at = parse_datetime(str(when))
        if level is None and weight is None:
            raise ValueError(
                "fillingLevel missing; give a fraction 0..1 (or cargoWeight in kg for a "
                "container that only weighs)"
            )
        reading = (
            WeightReading(bin_id=bin_id, at=at, weight_kg=float(weight))
            if level is None
            else FillReading(
                bin_id=bin_id,
                at=at,
                fill_fraction=float(level),
                weight_kg=None if weight is None else float(weight),
            )
        )
        model = _unwrap(ent.get("refWasteContainerModel"))
        cap = capacity_l.get(str(model), default_capacity_l) if model else default_capacity_l
        return reading, _fiware_bin(ent, bin_id, cap)
    except (ValueError, TypeError, KeyError, FleetDataError) as exc:
        return RowError(idx, bin_id, key if "date" in str(exc) else None, str(exc))


def read_fiware_waste_containers(
    src: Source | Sequence[Any] | Mapping[str, Any],
    *,
    capacity_l_by_model: Mapping[str, int] | None = None,
    default_capacity_l: int | None = None,
    emptying_as_reading: bool = False,
    inventory: Inventory | None = None,
) -> FiwareImport:
    """Read Smart Data Models ``WasteContainer`` entities (NGSI-v2 normalized or keyValues).

    Parameters
    ----------
    src : path, JSON text, list of entity dicts or one entity dict
        The entities; ``id`` may carry the ``urn:ngsi-ld:WasteContainer:`` prefix (stripped
        to give the bin id).
    capacity_l_by_model : mapping, optional
        Litres per ``refWasteContainerModel`` id (the capacity lives in the model entity).
    default_capacity_l : int, optional
        Capacity for containers whose model is not in the mapping; a :class:`Bin` is produced
        for each entity with a known capacity and a ``location`` (first one per bin id).
    emptying_as_reading : bool
        Also emit a 0.0 reading at ``dateLastEmptying`` (before the observation) so the fill
        estimator sees the emptying even when readings are sparse.
    inventory : Inventory, optional
        The bins, for containers that only weigh (``cargoWeight`` without ``fillingLevel``):
        their fill is derived at the bin's density (:func:`fleet.weights.fills_from_weights`;
        a bin not in it but read from the entities takes its stream's default). Without the
        bin, such an entity is an error.

    Returns
    -------
    FiwareImport
        ``fillingLevel`` (fraction 0..1) -> ``fill_fraction``; ``cargoWeight`` (kg) ->
        ``weight_kg``; observation time from ``dateObserved``, else ``dateUpdated``, else
        ``dateModified``.

    Notes
    -----
    A bin has one reading per instant (in any UTC offset), the first entity's, as in
    :func:`read_readings_csv`: a later entity with the same reading (a resend) is dropped
    and counted in ``duplicates``; one with other values is an error naming the bin, the
    instant and the entity used. An emptying reading goes only where no observation is.
    """
    doc = _load_json(src)
    ents = [doc] if isinstance(doc, dict) else list(doc)
    observed: list[tuple[int, FillReading | WeightReading]] = []
    emptied: dict[int, FillReading] = {}
    bins: dict[str, Bin] = {}
    errors: list[RowError] = []
    for idx, ent in enumerate(ents, start=1):
        got = _fiware_entity(ent, idx, capacity_l_by_model or {}, default_capacity_l)
        if isinstance(got, RowError):
            errors.append(got)
            continue
        reading, b = got
        if b is not None:
            bins.setdefault(b.bin_id, b)
        observed.append((idx, reading))
        extra = _emptying_reading(ent, reading) if emptying_as_reading else None
        if extra is not None:
            emptied[idx] = extra
    kept, clashes, repeats = _once_per_instant(observed, "entity")
    readings = _with_emptyings(kept, emptied)
    fills, refused = _weights_as_fills(readings, inventory, bins.values())
    errors = sorted((*errors, *clashes, *refused), key=lambda e: e.row)
    return FiwareImport(fills, tuple(bins.values()), _as_unit(errors, "entity"), duplicates=repeats)


def _with_emptyings(
    kept: Sequence[tuple[int, FillReading | WeightReading]], emptied: Mapping[int, FillReading]
) -> list[tuple[int, FillReading | WeightReading]]:
    """The entities' readings (number, reading), each after its entity's emptying reading
    (``emptied``, by entity number) when no observation or earlier emptying of its bin is
    at that instant."""
    taken = {(r.bin_id, r.at) for _, r in kept}
    out: list[tuple[int, FillReading | WeightReading]] = []
    for idx, r in kept:
        extra = emptied.get(idx)
        if extra is not None and (extra.bin_id, extra.at) not in taken:
            taken.add((extra.bin_id, extra.at))
            out.append((idx, extra))
        out.append((idx, r))
    return out


def _emptying_reading(
    ent: Mapping[str, Any], reading: FillReading | WeightReading
) -> FillReading | None:
    raw = _unwrap(ent.get("dateLastEmptying"))
    if raw is None:
        return None
    try:
        at = parse_datetime(str(raw))
    except ValueError:
        return None
    if at >= reading.at:
        return None
    return FillReading(bin_id=reading.bin_id, at=at, fill_fraction=0.0)


def fiware_waste_containers(
    readings: Iterable[FillReading],
    bins: Iterable[Bin] = (),
    *,
    key_values: bool = True,
) -> list[dict[str, Any]]:
    """One ``WasteContainer`` entity snapshot per reading (a history, as QuantumLeap gives).

    ``location`` and ``storedWasteKind`` are added for readings whose bin is in ``bins``.
    ``key_values=False`` gives the NGSI-v2 normalized form. A fill derived from a weight
    (``fill_from_weight``) is left out: the entity says what the sensor did, its weight.
    """
    by_id = {b.bin_id: b for b in bins}
    out = []
    for r in readings:
        attrs: dict[str, tuple[str, Any]] = {}
        if not r.fill_from_weight:
            attrs["fillingLevel"] = ("Number", r.fill_fraction)
        attrs["dateObserved"] = ("DateTime", r.at.isoformat())
        if r.weight_kg is not None:
            attrs["cargoWeight"] = ("Number", r.weight_kg)
        b = by_id.get(r.bin_id)
        if b is not None:
            attrs["location"] = ("geo:json", {"type": "Point", "coordinates": [b.lon, b.lat]})
            kind = _STREAM_TO_FIWARE_KIND.get(b.stream, b.stream)
            attrs["storedWasteKind"] = ("StructuredValue", [kind])
        ent: dict[str, Any] = {"id": FIWARE_ID_PREFIX + r.bin_id, "type": "WasteContainer"}
        for k, (typ, v) in attrs.items():
            ent[k] = v if key_values else {"type": typ, "value": v}
        out.append(ent)
    return out


def write_fiware_waste_containers(
    readings: Iterable[FillReading],
    bins: Iterable[Bin] = (),
    *,
    key_values: bool = True,
    dest: Path | None = None,
) -> str:
    """Write readings as a JSON list of ``WasteContainer`` entities; return the text."""
    text = json.dumps(fiware_waste_containers(readings, bins, key_values=key_values), indent=1)
    if dest is not None:
        dest.write_text(text, encoding="utf-8")
    return text
