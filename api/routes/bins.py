"""Bins (deleting a bin deletes its readings, closes its alerts still to serve as
``bin_deleted`` and keeps them all, and re-plans every day from today with a finished plan:
its visits still to do leave the plans, origin ``bins``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy.orm import Session

from api import mapping, repo
from api.db import BinRow
from api.deps import DbDep, JobsDep, SettingsDep
from api.jobs import JobRunner
from api.repo_alerts import close_alerts_of_deleted_bin
from api.routes._crud import Resource, crud_router
from api.schemas import BinDensityOut, BinIn, BinOut, UrlKey
from api.security import CanRead
from fleet import io


def _close_alerts(s: Session, bin_id: str, jobs: JobRunner) -> None:
    """Close the alerts of bin ``bin_id``, being deleted, that a plan could still send a truck
    for (those of the readings history that no truck was sent to among them)."""
    today = jobs.today()
    close_alerts_of_deleted_bin(s, bin_id, today, jobs.carried_from(today))


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
    on_delete=_close_alerts,
)
router = crud_router(BINS)


@router.get(
    "/{bin_id}/density",
    response_model=BinDensityOut,
    summary="The density a bin is loaded at, and why",
)
def get_density(
    bin_id: UrlKey, db: DbDep, jobs: JobsDep, settings: SettingsDep, _: CanRead
) -> BinDensityOut:
    """The density (kg per litre) plans load bin ``bin_id`` at: the one set on it, else
    the one its weights show (readings with a level and a weight, the weights the trucks'
    lift scales took, the fills crews found beside a sensor's weight; 3 samples or more,
    over the last ``readings_history_days``), else its stream's default; with the notes
    (e.g. a measured density out of range, not used; weights alone heavier than the bin
    holds at the density it is loaded at)."""
    now = jobs.clock()
    since = now - timedelta(days=settings.readings_history_days)
    with db.reader() as s:
        b, notes = repo.bin_density(s, bin_id, since, now + timedelta(seconds=1))
    source: Literal["set", "measured", "stream"] = "stream"
    if b.density_kg_per_l is not None:
        source = "set"
    elif b.measured_density_kg_per_l is not None:
        source = "measured"
    return BinDensityOut(
        bin_id=b.bin_id,
        stream=b.stream,
        density_kg_per_l=b.density_kg_per_l,
        measured_density_kg_per_l=b.measured_density_kg_per_l,
        planned_kg_per_l=b.density,
        source=source,
        notes=list(notes),
    )
