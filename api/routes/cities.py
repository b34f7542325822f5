"""Cities: a catalogue of named street-network sources (``helsinki``, ``haversine`` or a
.osm.pbf path), for reference: plans are made on the service's ``CITY`` and ``TIMEZONE``
settings (``GET /health`` shows them), not on these records."""

from __future__ import annotations

from api import mapping
from api.db import CityRow
from api.routes._crud import Resource, crud_router
from api.schemas import CityIn, CityOut

CITIES = Resource(
    kind="city",
    path="/cities",
    row=CityRow,
    schema_in=CityIn,
    schema_out=CityOut,
    id_field="city_id",
    to_record=mapping.city_record,
)
router = crud_router(CITIES)
