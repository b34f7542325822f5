"""Truck reports judged on or off the route of the plan being driven, by the order of its
visits (a hand-made plan document: its bins, unloadings and the waypoints where a reroute
went on from where the truck was)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.db import PlanRow
from api.deps import Runtime
from tests.api.conftest import PLAN_DATE, seed, wait

REROUTED = [("bin", "b0"), ("waypoint", "09:18"), ("disposal", "s1"), ("bin", "b1")]


def _at(hhmm: str) -> str:
    return f"{PLAN_DATE}T{hhmm}:00+02:00"


def _plan(runtime: Runtime, work: list[tuple[str, str]]) -> int:
    """A finished plan of the day whose truck v1 does ``work`` in order: (kind, bin or site
    id), or ("waypoint", "HH:MM": where a reroute then went on from)."""
    visits = [
        {"kind": kind, "ref": "v1", "start": _at(ident)}
        if kind == "waypoint"
        else {"kind": kind, "ref": ident, **({"bin_id": ident} if kind == "bin" else {})}
        for kind, ident in work
    ]
    doc = {"plan": {"routes": [{"vehicle_id": "v1", "visits": visits}]}}
    with runtime.db.writer() as w:
        row = PlanRow(
            plan_date=date.fromisoformat(PLAN_DATE),
            version=1,
            origin="reroute",
            status="done",
            time_limit_s=1,
            exports=doc,
        )
        w.add(row)
        w.flush()
        return row.id


@pytest.mark.parametrize(
    ("work", "at", "off"),
    [
        (REROUTED, "08:59", True),
        (REROUTED, "09:50", False),
        ([("bin", "b0"), ("waypoint", "09:18"), ("bin", "b1")], "08:59", False),
        ([("bin", "b0"), ("disposal", "s1"), ("waypoint", "09:18"), ("bin", "b1")], "08:59", False),
    ],
    ids=["done-before-the-reroute", "done-after-it", "no-unloading-first", "unloading-before-it"],
)
def test_a_bin_emptied_before_a_reroute_that_put_an_unloading_first_is_off_the_route(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    work: list[tuple[str, str]],
    at: str,
    off: bool,
) -> None:
    """v1 emptied b0, then b1 at 08:59 by the plan its tablet showed; a reroute made at
    09:18 without that report has it unload at s1 before b1. The report comes: b1 is off
    the route (the truck carries its waste; the later visit is taken out). Before, it was
    on the route with the unloading skipped counted as done: the truck taken for empty,
    the unloading timed at its planned time after 09:18, after s1 closed in the random
    days that found it (a busy day of seed 820 from 2026-03-28). Emptied after 09:18, the
    unloading before it was made and not reported (on the route, as before); so is a bin
    next after the waypoint, or after an unloading before it."""
    key = keys["dispatcher"]
    seed(client, key)
    url = f"/plans/{_plan(runtime, work)}/progress"
    done = {"vehicle_id": "v1", "kind": "visit_done"}
    first = client.post(url, json={**done, "bin_id": "b0", "at": _at("08:00")}, headers=key)
    assert first.status_code == 201 and first.json()["off_route"] is False, first.text
    resp = client.post(url, json={**done, "bin_id": "b1", "at": _at(at)}, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is off, resp.text
    wait(runtime)
