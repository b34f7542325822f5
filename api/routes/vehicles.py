"""Collection trucks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api import mapping
from api.db import DepotRow, VehicleRow
from api.routes._crud import Resource, crud_router
from api.schemas import VehicleIn, VehicleOut
from fleet import io


def _references(session: Session, item: Any) -> list[tuple[list[str | int], str]]:
    if session.get(DepotRow, item.depot_id) is None:
        return [(["depot_id"], f"unknown depot {item.depot_id!r}; create the depot first")]
    return []


VEHICLES = Resource(
    kind="vehicle",
    path="/vehicles",
    row=VehicleRow,
    schema_in=VehicleIn,
    schema_out=VehicleOut,
    id_field="vehicle_id",
    to_record=mapping.vehicle_record,
    references=_references,
    read_csv=io.read_vehicles_csv,
    to_wire=mapping.vehicle_wire,
)
router = crud_router(VEHICLES)
