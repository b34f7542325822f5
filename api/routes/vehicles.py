"""Collection trucks. A change of the fleet (a truck added, changed or deleted) re-plans
every day from today with a finished plan: made while trucks are out, the rest of the day
is re-planned from where they are (202; the plan jobs are named in the ``Link`` header, and
in ``replans`` of a bulk result)."""

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
    replans="fleet",
)
router = crud_router(VEHICLES)
