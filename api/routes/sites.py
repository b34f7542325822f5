"""Disposal sites: landfills, transfer stations, recycling plants. A site added, changed
(its hours, streams, unloading time) or deleted (closed) re-plans every day from today with
a finished plan, as a change of the fleet does: trucks out unload only at the sites listed
then, within their hours. A new name alone re-plans nothing."""

from __future__ import annotations

from api import mapping
from api.db import SiteRow
from api.routes._crud import Resource, crud_router
from api.schemas import SiteIn, SiteOut
from fleet import io

SITES = Resource(
    kind="disposal site",
    path="/sites",
    row=SiteRow,
    schema_in=SiteIn,
    schema_out=SiteOut,
    id_field="site_id",
    to_record=mapping.site_record,
    read_csv=io.read_sites_csv,
    to_wire=mapping.site_wire,
    replans="sites",
    plan_ignores=frozenset({"name"}),  # shown to people, read by no plan
)
router = crud_router(SITES)
