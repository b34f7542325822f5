"""Depots, where trucks start and end their shift. A depot changed (its position
corrected) re-plans every day from today with a finished plan, as a change of the fleet
does: trucks not out yet leave from where it is now, and trucks out go home there. A new
name alone re-plans nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import mapping
from api.db import DepotRow, VehicleRow
from api.routes._crud import Resource, crud_router
from api.schemas import DepotIn, DepotOut
from fleet import io


def _in_use(session: Session, depot_id: str) -> str | None:
    vehicles = list(
        session.scalars(
            select(VehicleRow.vehicle_id).where(VehicleRow.depot_id == depot_id).limit(5)
        )
    )
    if vehicles:
        return f"depot {depot_id!r} is the home of vehicles {vehicles}; move or delete them first"
    return None


DEPOTS = Resource(
    kind="depot",
    path="/depots",
    row=DepotRow,
    schema_in=DepotIn,
    schema_out=DepotOut,
    id_field="depot_id",
    to_record=mapping.depot_record,
    in_use=_in_use,
    read_csv=io.read_depots_csv,
    to_wire=mapping.depot_wire,
    replans="depots",
    replans_on=frozenset({"replace"}),  # one added or deleted is no truck's home
    plan_ignores=frozenset({"name"}),  # shown to people, read by no plan
)
router = crud_router(DEPOTS)
