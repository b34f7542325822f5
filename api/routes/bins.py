"""Bins (deleting a bin deletes its readings and alerts, and re-plans every day from today
with a finished plan: its visits still to do leave the plans, origin ``bins``)."""

from __future__ import annotations

from api import mapping
from api.db import BinRow
from api.routes._crud import Resource, crud_router
from api.schemas import BinIn, BinOut
from fleet import io

BINS = Resource(
    kind="bin",
    path="/bins",
    row=BinRow,
    schema_in=BinIn,
    schema_out=BinOut,
    id_field="bin_id",
    to_record=mapping.bin_record,
    read_csv=io.read_bins_csv,
    to_wire=mapping.bin_wire,
    replans="bins",
    replans_on=frozenset({"delete"}),  # a bin added or changed waits for the next plan
)
router = crud_router(BINS)
