"""Errors raised for bad fleet data (input errors: HTTP 422 at the API edge)."""


class FleetDataError(ValueError):
    """Bad inventory, reading or report data; the message names the record and the fix."""
