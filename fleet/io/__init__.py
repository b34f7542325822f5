"""Read and write fleet data: CSV, GeoJSON and FIWARE ``WasteContainer`` JSON.

This is the only package of :mod:`fleet` that parses files. Every reader keeps the good rows
and reports each bad row as a :class:`RowError`; call :meth:`ImportResult.raise_if_errors`
(or pass the result to :func:`strict`) to turn any error into one :class:`FleetDataError`.

Formats
-------
* CSV: a header line, then one record per line. ``RowError.row`` is the 1-based *line
  number* in the file, the header being line 1 (so the first data row is line 2).
* Times: ISO-8601 with an offset (``2026-11-24T07:30:00+01:00`` or ``...Z``); naive times
  are rejected with a message asking for an offset.
* Daily windows: ``HH:MM-HH:MM`` (local clock time). Streams: ``a;b`` (semicolon separated).
* Booleans: ``true/false``, ``yes/no``, ``1/0`` (any case).
* GeoJSON: a ``FeatureCollection`` of ``Point`` features, coordinates ``[lon, lat]``, with a
  property ``kind`` of ``bin``, ``depot`` or ``site`` and the CSV columns as properties
  (numbers and booleans may be JSON-native, streams may be a JSON list). ``RowError.row`` is
  the 1-based index of the feature.
* FIWARE: a JSON list (or one object) of Smart Data Models ``WasteContainer`` entities in
  NGSI-v2 *normalized* (``{"fillingLevel": {"type": "Number", "value": 0.4}}``) or
  *keyValues* (``{"fillingLevel": 0.4}``) form. ``RowError.row`` is the 1-based index of the
  entity. A container that only weighs gives ``cargoWeight`` alone.
* Readings: a row with ``weight_kg`` and no ``fill_fraction`` is a sensor that only weighs;
  its fill is derived at the bin's density (:func:`read_readings_csv`). A bin has one
  reading per instant: a row (or FIWARE entity) repeating an earlier one is dropped
  (``duplicates``), one with other values is an error.

The column specification of every record type is in :data:`COLUMNS` (one place,
:mod:`fleet.io.values`). The modules: :mod:`~fleet.io.rows` (results and row errors),
:mod:`~fleet.io.values` (columns and values), :mod:`~fleet.io.tables` (CSV),
:mod:`~fleet.io.geojson`, :mod:`~fleet.io.fiware` and :mod:`~fleet.io.inventory` (an
inventory folder); every public name is here too.
"""

from fleet.io.fiware import (
    FIWARE_ID_PREFIX,
    FIWARE_KIND_TO_STREAM,
    FiwareImport,
    fiware_waste_containers,
    read_fiware_waste_containers,
    write_fiware_waste_containers,
)
from fleet.io.geojson import (
    InventoryImport,
    inventory_geojson,
    read_inventory_geojson,
    write_inventory_geojson,
)
from fleet.io.inventory import (
    DOWNTIMES_FILE,
    INVENTORY_FILES,
    INVENTORY_GEOJSON,
    load_inventory,
    places_file,
    save_inventory,
)
from fleet.io.rows import (
    PLURAL_UNITS,
    ImportResult,
    RowError,
    Source,
    strict,
    summarise_errors,
)
from fleet.io.tables import (
    SEPARATORS,
    ReadingsDerive,
    read_bins_csv,
    read_csv,
    read_depots_csv,
    read_downtimes_csv,
    read_pickups_csv,
    read_readings_csv,
    read_reports_csv,
    read_sites_csv,
    read_vehicles_csv,
    write_bins_csv,
    write_csv,
    write_depots_csv,
    write_downtimes_csv,
    write_readings_csv,
    write_reports_csv,
    write_sites_csv,
    write_vehicles_csv,
)
from fleet.io.values import (
    CODECS,
    COLUMNS,
    Codec,
    Column,
    format_window,
    parse_bool,
    parse_datetime,
    parse_float,
    parse_int,
    parse_names,
    parse_streams,
    parse_window,
    record_fields,
)

__all__ = [
    "CODECS",
    "COLUMNS",
    "DOWNTIMES_FILE",
    "FIWARE_ID_PREFIX",
    "FIWARE_KIND_TO_STREAM",
    "INVENTORY_FILES",
    "INVENTORY_GEOJSON",
    "PLURAL_UNITS",
    "SEPARATORS",
    "Codec",
    "Column",
    "FiwareImport",
    "ImportResult",
    "InventoryImport",
    "ReadingsDerive",
    "RowError",
    "Source",
    "fiware_waste_containers",
    "format_window",
    "inventory_geojson",
    "load_inventory",
    "parse_bool",
    "parse_datetime",
    "parse_float",
    "parse_int",
    "parse_names",
    "parse_streams",
    "parse_window",
    "places_file",
    "read_bins_csv",
    "read_csv",
    "read_depots_csv",
    "read_downtimes_csv",
    "read_fiware_waste_containers",
    "read_inventory_geojson",
    "read_pickups_csv",
    "read_readings_csv",
    "read_reports_csv",
    "read_sites_csv",
    "read_vehicles_csv",
    "record_fields",
    "save_inventory",
    "strict",
    "summarise_errors",
    "write_bins_csv",
    "write_csv",
    "write_depots_csv",
    "write_downtimes_csv",
    "write_fiware_waste_containers",
    "write_inventory_geojson",
    "write_readings_csv",
    "write_reports_csv",
    "write_sites_csv",
    "write_vehicles_csv",
]
