"""An inventory's places as GeoJSON: a ``FeatureCollection`` of ``Point`` features, [lon, lat],
with a ``kind`` (bin, depot or site) and the CSV columns as properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.errors import FleetDataError
from fleet.io.rows import RowError, Source, _as_unit, _read_text, summarise_errors
from fleet.io.values import CODECS, COLUMNS, _build, _id_field
from fleet.models import (
    Bin,
    Depot,
    DisposalSite,
)

# ----------------------------------------------------------------------------- GeoJSON

_KINDS: dict[str, type] = {"bin": Bin, "depot": Depot, "site": DisposalSite}
_PROPERTIES = {  # each kind of feature: its properties and their kinds of value
    cls: {c.name: c.kind for c in COLUMNS[cls]} for cls in _KINDS.values()
}
_MANY = ("names", "streams")  # the kinds of value a JSON list gives, one name an item
_ONE = {  # what one value of each other kind is, in JSON
    "str": "one text",
    "int": "one whole number",
    "float": "one number",
    "bool": "true or false",
    "window": 'one "HH:MM-HH:MM" text',
    "datetime": "one ISO 8601 time text",
}


def _plain_id(v: Any) -> str | None:
    """A feature's id as an error names it: a JSON string or number, else none."""
    return str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else None


def _shape_errors(cls: type, props: Mapping[str, Any], idx: int) -> list[RowError]:
    """The properties of a feature of ``cls`` whose JSON value has the wrong shape: an
    object anywhere, a list where one value goes (lists are for ``needs`` and ``streams``)."""
    kinds = _PROPERTIES[cls]
    rid = _plain_id(props.get(_id_field(cls)))
    out = []
    for name, value in props.items():
        if name not in kinds or not isinstance(value, (dict, list)):
            continue
        many = kinds[name] in _MANY
        items = value if many and isinstance(value, list) else [value]
        if any(isinstance(x, (dict, list)) for x in items):
            what = "a list of names or one name" if many else _ONE[kinds[name]]
            shape = "an object" if isinstance(value, dict) else "a list"
            out.append(RowError(idx, rid, name, f"{name} is {shape}; write {what}"))
    return out


def _json_text(v: Any) -> str:
    """Raw JSON property value -> the CSV text form parsed by the codecs."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    return str(v)


@dataclass(frozen=True, slots=True)
class InventoryImport:
    """Places read from GeoJSON: bins, depots, disposal sites and the bad features."""

    bins: tuple[Bin, ...]
    depots: tuple[Depot, ...]
    sites: tuple[DisposalSite, ...]
    errors: tuple[RowError, ...] = ()

    def raise_if_errors(self, what: str = "GeoJSON inventory") -> InventoryImport:
        """Return self, or raise one :class:`FleetDataError` listing every bad feature."""
        if self.errors:
            raise FleetDataError(summarise_errors(what, self.errors))
        return self


def _load_json(src: Source | Any) -> Any:
    if isinstance(src, (str, Path)):
        try:
            return json.loads(_read_text(src))
        except json.JSONDecodeError as exc:
            raise FleetDataError(f"not valid JSON: {exc}; check the file") from exc
    return src


def _feature_row(feat: Any, idx: int) -> tuple[type, dict[str, Any]] | RowError:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        return RowError(idx, None, None, "not a GeoJSON Feature object")
    raw = feat.get("properties") or {}
    if not isinstance(raw, dict):
        return RowError(idx, None, "properties", "properties must be an object of name: value")
    props = dict(raw)
    kind = str(props.pop("kind", "")).strip().lower()
    cls = _KINDS.get(kind)
    rid = _plain_id(props.get("bin_id") or props.get("depot_id") or props.get("site_id"))
    if cls is None:
        return RowError(idx, rid, "kind", f"kind {kind!r} unknown; use bin, depot or site")
    geom = feat.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") != "Point":
        geom = {}
    coords = geom.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return RowError(idx, rid, "geometry", "geometry must be a Point [lon, lat]")
    props["lon"], props["lat"] = coords[0], coords[1]
    return cls, props


def read_inventory_geojson(src: Source | Mapping[str, Any]) -> InventoryImport:
    """Read bins, depots and sites from a GeoJSON FeatureCollection (file, text or dict).

    ``RowError.row`` is the 1-based index of the feature in ``features``.
    """
    doc = _load_json(src)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FleetDataError("GeoJSON inventory must be a FeatureCollection")
    out: dict[type, list[Any]] = {Bin: [], Depot: [], DisposalSite: []}
    seen: dict[tuple[type, str], int] = {}
    errors: list[RowError] = []
    features = doc.get("features") or []
    if not isinstance(features, list):
        raise FleetDataError("GeoJSON inventory's features must be a list of Feature objects")
    for idx, feat in enumerate(features, start=1):
        row = _feature_row(feat, idx)
        if isinstance(row, RowError):
            errors.append(row)
            continue
        cls, props = row
        shapes = _shape_errors(cls, props, idx)
        if shapes:
            errors += shapes
            continue
        known = _PROPERTIES[cls]
        errors += [
            RowError(
                idx, None, k, f"unknown property {k!r} for {cls.__name__} (ignored)", ignored=True
            )
            for k in props
            if k not in known
        ]
        built: object = _build(cls, props, idx, _json_text)
        if isinstance(built, list):
            errors += built
            continue
        rid = getattr(built, _id_field(cls))
        if (cls, rid) in seen:
            errors.append(RowError(idx, rid, None, f"id repeats feature {seen[(cls, rid)]}"))
            continue
        seen[(cls, rid)] = idx
        out[cls].append(built)
    return InventoryImport(
        tuple(out[Bin]), tuple(out[Depot]), tuple(out[DisposalSite]), _as_unit(errors, "feature")
    )


def _feature(kind: str, rec: Any) -> dict[str, Any]:
    cls = type(rec)
    props: dict[str, Any] = {"kind": kind}
    for c in COLUMNS[cls]:
        if c.name in ("lon", "lat"):
            continue
        v = getattr(rec, c.name)
        if v is not None:
            props[c.name] = CODECS[c.kind].to_json(v)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [rec.lon, rec.lat]},
        "properties": props,
    }


def inventory_geojson(
    bins: Iterable[Bin] = (), depots: Iterable[Depot] = (), sites: Iterable[DisposalSite] = ()
) -> dict[str, Any]:
    """The GeoJSON FeatureCollection (a dict) of the given places."""
    feats = [_feature("bin", b) for b in bins]
    feats += [_feature("depot", d) for d in depots]
    feats += [_feature("site", s) for s in sites]
    return {"type": "FeatureCollection", "features": feats}


def write_inventory_geojson(
    bins: Iterable[Bin] = (),
    depots: Iterable[Depot] = (),
    sites: Iterable[DisposalSite] = (),
    dest: Path | None = None,
) -> str:
    """Write places as a GeoJSON FeatureCollection; return the JSON text."""
    text = json.dumps(inventory_geojson(bins, depots, sites), indent=1)
    if dest is not None:
        dest.write_text(text, encoding="utf-8")
    return text
