"""The trucks' visit_done reports as the city's collection log for the next plans."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from api import repo
from api.db import ProgressRow
from api.deps import Runtime
from fleet.fill import estimate_models, pickup_rate
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner
from tests.fleet.conftest import make_bin


def _plan(client: TestClient, dispatcher: dict[str, str], runtime: Runtime, day: str) -> int:
    plan = client.post("/plans", json={"plan_date": day}, headers=dispatcher).json()
    wait(runtime)
    return int(plan["id"])


def _done(bin_id: str, at: str, fill: float | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "vehicle_id": "v1",
        "at": f"2026-11-25T{at}:00+02:00",
        "kind": "visit_done",
        "bin_id": bin_id,
    }
    if fill is not None:
        body["fill_fraction"] = fill
    return body


def test_fill_found_at_a_pickup_is_stored_and_checked(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    plan = _plan(client, dispatcher, runtime, PLAN_DATE)
    url = f"/plans/{plan}/progress"
    resp = client.post(url, json=_done("b0", "09:00", 0.8), headers=dispatcher)
    assert resp.status_code == 201
    assert resp.json()["fill_fraction"] == 0.8
    listed = client.get(url, headers=keys["viewer"]).json()
    assert [p["fill_fraction"] for p in listed] == [0.8]

    too_full = client.post(url, json=_done("b0", "10:00", 1.4), headers=dispatcher)
    assert too_full.status_code == 422
    assert too_full.json()["detail"][0]["loc"] == ["body", "fill_fraction"]
    position = {"vehicle_id": "v1", "at": "2026-11-25T10:00:00+02:00", "kind": "position"}
    resp = client.post(
        url, json={**position, "lon": 24.9, "lat": 60.2, "fill_fraction": 0.5}, headers=dispatcher
    )
    assert resp.status_code == 422
    assert "fill_fraction" in resp.json()["detail"][0]["msg"]


def test_collection_log_keeps_each_bins_last_emptying_and_the_fills_found(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 11:00 (70 %), resent at 11:10 (dropped), again at 13:00 (10 %); b1 at 12:00."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    plan = _plan(client, dispatcher, runtime, PLAN_DATE)
    for body in (
        _done("b0", "11:00", 0.7),
        _done("b0", "11:10", 0.7),
        _done("b1", "12:00"),
        _done("b0", "13:00", 0.1),
    ):
        assert (
            client.post(f"/plans/{plan}/progress", json=body, headers=dispatcher).status_code == 201
        )
    at = datetime.fromisoformat
    with runtime.db.reader() as s:
        log = repo.collection_log(
            s, at("2026-11-25T00:00:00+02:00"), at("2026-11-26T00:00:00+02:00")
        )
        before_noon = repo.collection_log(
            s, at("2026-11-25T00:00:00+02:00"), at("2026-11-25T12:00:00+02:00")
        )
    assert log.last_emptied == {
        "b0": at("2026-11-25T13:00:00+02:00"),
        "b1": at("2026-11-25T12:00:00+02:00"),
    }
    assert [(p.bin_id, p.at, p.fill_fraction) for p in log.pickups] == [
        ("b0", at("2026-11-25T11:00:00+02:00"), 0.7),
        ("b1", at("2026-11-25T12:00:00+02:00"), None),
        ("b0", at("2026-11-25T13:00:00+02:00"), 0.1),
    ]
    assert before_noon.last_emptied == {"b0": at("2026-11-25T11:00:00+02:00")}


def test_a_bin_emptied_again_after_an_unloading_is_a_second_emptying_in_the_log(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """v1 empties b0 at 10:00 (90 %), unloads at s1 at 10:20 and empties b0 again at 10:40
    (30 %): the log has both, as the truck's progress does (the second was taken for the
    first one sent again, within the hour, and its fill was lost), for the city and for b0."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    plan = _plan(client, dispatcher, runtime, PLAN_DATE)
    unload = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    for body in (
        _done("b0", "10:00", 0.9),
        {**unload, "at": "2026-11-25T10:20:00+02:00"},
        _done("b0", "10:40", 0.3),
    ):
        resp = client.post(f"/plans/{plan}/progress", json=body, headers=dispatcher)
        assert resp.status_code == 201, resp.text
    at = datetime.fromisoformat
    window = (at("2026-11-25T00:00:00+02:00"), at("2026-11-26T00:00:00+02:00"))
    with runtime.db.reader() as s:
        logs = [repo.collection_log(s, *window), repo.collection_log(s, *window, ["b0"])]
    for log in logs:
        assert log.last_emptied == {"b0": at("2026-11-25T10:40:00+02:00")}
        assert [p.fill_fraction for p in log.pickups] == [0.9, 0.3]


def test_a_bin_emptied_again_as_a_newer_plan_sent_its_truck_back_is_no_resend(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """v1's crew empties b0 off its route at 10:00. The plan made after it sends v1 back to
    b0 as its next work (a second visit: b0 refills fast), and v1 reports it done at 10:26,
    on that plan's route. That is a second emptying, not the first sent again within the
    hour: it was taken for a resend, so the plans kept sending v1 back (service fuzz seed
    1084). The same report against the first plan, or off the newer plan's route, is still
    a resend (a button pressed twice)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    first, newer = (_plan(client, dispatcher, runtime, PLAN_DATE) for _ in range(2))
    at = datetime.fromisoformat
    window = (at("2026-11-25T00:00:00+02:00"), at("2026-11-26T00:00:00+02:00"))

    def log_after(plan_id: int, off_route: bool) -> tuple[list[str], bool]:
        """The log's pickups (UTC) and whether the second report is a resend."""
        rows = [
            ProgressRow(plan_id=first, off_route=True, at=at("2026-11-25T10:00:00+02:00")),
            ProgressRow(plan_id=plan_id, off_route=off_route, at=at("2026-11-25T10:26:00+02:00")),
        ]
        day = at(PLAN_DATE).date()
        with runtime.db.writer() as s:
            s.execute(delete(ProgressRow))
            for r in rows:
                r.plan_date, r.vehicle_id, r.kind, r.bin_id = day, "v1", "visit_done", "b0"
                s.add(r)
        with runtime.db.reader() as s:
            log = repo.collection_log(s, *window)
            resent = repo.resend_ids(s, day)
        return [p.at.strftime("%H:%M") for p in log.pickups], rows[1].id in resent

    assert log_after(newer, off_route=False) == (["08:00", "08:26"], False)
    assert log_after(first, off_route=False) == (["08:00"], True)
    assert log_after(newer, off_route=True) == (["08:00"], True)


def test_the_log_of_some_bins_is_the_citys_log_of_those_bins(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Read for some bins only (the trucks that reported them), the log is the whole
    city's log of those bins. v1 empties b0 (resent), b2, b0 again (after other work: a
    second visit, which b0's reports alone would take for a resend), b1, and b1 again
    after an alert on it; v2 empties b1 (resent) and b3, then deleted."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    plan = _plan(client, dispatcher, runtime, PLAN_DATE)
    v2 = {"vehicle_id": "v2"}
    before_alert = [
        _done("b0", "11:00", 0.7),
        {**_done("b1", "11:05", 0.4), **v2},
        _done("b0", "11:10", 0.7),
        {**_done("b1", "11:15", 0.4), **v2},
        _done("b2", "11:20"),
        _done("b0", "11:40", 0.3),
        _done("b1", "12:00", 0.5),
        {**_done("b3", "12:01", 0.9), **v2},
    ]
    url = f"/plans/{plan}/progress"
    for body in before_alert:
        assert client.post(url, json=body, headers=dispatcher).status_code == 201
    alert = {"bin_id": "b1", "at": "2026-11-25T12:05:00+02:00"}
    assert client.post("/alerts", json=alert, headers=dispatcher).status_code in (200, 201, 202)
    assert client.post(url, json=_done("b1", "12:10", 0.2), headers=dispatcher).status_code == 201
    wait(runtime)
    assert client.delete("/bins/b3", headers=keys["admin"]).status_code == 202  # re-plans
    wait(runtime)
    at = datetime.fromisoformat
    window = (at("2026-11-25T00:00:00+02:00"), at("2026-11-26T00:00:00+02:00"))
    with runtime.db.reader() as s:
        city = repo.collection_log(s, *window)
        some = {
            ids: repo.collection_log(s, *window, ids) for ids in [("b0",), ("b1",), ("b2", "b3")]
        }
    assert [(p.bin_id, p.at.strftime("%H:%M")) for p in city.pickups] == [
        ("b0", "09:00"),
        ("b1", "09:05"),
        ("b2", "09:20"),  # no fill found: an emptying all the same
        ("b0", "09:40"),
        ("b1", "10:00"),
        ("b1", "10:10"),
    ]  # in UTC
    assert set(city.last_emptied) == {"b0", "b1", "b2"}
    for ids, log in some.items():
        assert log.pickups == tuple(p for p in city.pickups if p.bin_id in ids), ids
        assert log.last_emptied == {b: t for b, t in city.last_emptied.items() if b in ids}, ids


def test_an_emptying_without_a_fill_still_ends_the_bins_fill_cycle(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """The crew of sensorless b0 gives the fill found on every other visit only: 40 % after
    each 4 h cycle. The visits without a fill are in the log, so b0's own rate is 10 %/h
    (the log kept the fill visits alone: 40 % in 8 h, half the rate)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    plan = _plan(client, dispatcher, runtime, PLAN_DATE)
    visits = [("06:00", 0.3), ("10:00", None), ("14:00", 0.4), ("18:00", None), ("22:00", 0.4)]
    for hhmm, fill in visits:
        resp = client.post(
            f"/plans/{plan}/progress", json=_done("b0", hhmm, fill), headers=dispatcher
        )
        assert resp.status_code == 201, resp.text
    at = datetime.fromisoformat
    with runtime.db.reader() as s:
        log = repo.collection_log(
            s, at("2026-11-25T00:00:00+02:00"), at("2026-11-26T00:00:00+02:00")
        )
    b0 = make_bin("b0", has_sensor=False)
    model = estimate_models([b0], [], now=at("2026-11-25T23:00:00+02:00"), pickups=log.pickups)
    assert pickup_rate(model["b0"], log.pickups) == pytest.approx((0.1, 2))


def test_next_plan_gets_the_collection_log(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    today = _plan(client, dispatcher, runtime, PLAN_DATE)
    assert planner.calls[-1]["last_emptied"] == {} and planner.calls[-1]["pickups"] == []
    body = _done("b2", "10:30", 0.9)
    assert client.post(f"/plans/{today}/progress", json=body, headers=dispatcher).status_code == 201
    tomorrow = (datetime.fromisoformat(PLAN_DATE) + timedelta(days=1)).date().isoformat()
    _plan(client, dispatcher, runtime, tomorrow)
    call = planner.calls[-1]
    emptied = datetime.fromisoformat("2026-11-25T10:30:00+02:00")
    assert call["last_emptied"] == {"b2": emptied}
    assert [(p.bin_id, p.at, p.fill_fraction) for p in call["pickups"]] == [("b2", emptied, 0.9)]


def test_a_bin_taken_off_the_street_leaves_the_collection_log(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """b2 was emptied at 10:30 (90 % full), then deleted: the next plan's collection log
    no longer names it (the fill model would refuse a pickup of a bin it does not know, and
    every plan of the city would fail); b1's emptying stays. Found by the service fuzz."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    today = _plan(client, dispatcher, runtime, PLAN_DATE)
    for body in (_done("b2", "10:30", 0.9), _done("b1", "11:00", 0.4)):
        resp = client.post(f"/plans/{today}/progress", json=body, headers=dispatcher)
        assert resp.status_code == 201
    deleted = client.delete("/bins/b2", headers=dispatcher)
    assert deleted.status_code == 202  # its day is planned again
    wait(runtime)
    tomorrow = (datetime.fromisoformat(PLAN_DATE) + timedelta(days=1)).date().isoformat()
    _plan(client, dispatcher, runtime, tomorrow)
    call = planner.calls[-1]
    assert set(call["last_emptied"]) == {"b1"}
    assert [p.bin_id for p in call["pickups"]] == ["b1"]


def test_a_bin_that_only_weighs_learns_its_density_from_the_fills_found(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 (240 l, residual: 0.10 kg/l) weighs 12 kg an hour before each of three pickups
    that found it a quarter full: 0.2 kg/l. Its next weight, 24 kg, is half full, not full
    (no alert)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    url = f"/plans/{_plan(client, dispatcher, runtime, PLAN_DATE)}/progress"

    def weighs(at: str, kg: float) -> dict[str, object]:
        row = {"bin_id": "b0", "at": f"2026-11-25T{at}:00+02:00", "weight_kg": kg}
        resp = client.post("/readings", json=[row], headers=keys["sensor"])
        assert resp.status_code == 200 and resp.json()["stored"] == 1, resp.text
        body: dict[str, object] = resp.json()
        return body

    for hour in (8, 10, 12):
        weighs(f"{hour:02d}:00", 12)
        done = client.post(url, json=_done("b0", f"{hour + 1:02d}:00", 0.25), headers=dispatcher)
        assert done.status_code == 201, done.text
    assert weighs("14:00", 24)["alert_ids"] == []
    newest = client.get("/readings", params={"bin_id": "b0"}, headers=keys["viewer"]).json()[0]
    assert newest["fill_fraction"] == pytest.approx(0.5) and newest["fill_from_weight"]


def test_the_weight_a_lift_scale_took_is_stored_and_checked(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 (240 l, residual 0.10 kg/l): 12 kg lifted with the crew's fill, and 18 kg alone,
    are kept; 30 000 kg alone (a scale in grams) is refused at weight_kg naming the fix;
    a weight on a position report is refused."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    url = f"/plans/{_plan(client, dispatcher, runtime, PLAN_DATE)}/progress"
    both = client.post(url, json={**_done("b0", "09:00", 0.5), "weight_kg": 12}, headers=dispatcher)
    alone = client.post(url, json={**_done("b1", "09:10"), "weight_kg": 18}, headers=dispatcher)
    assert both.status_code == alone.status_code == 201, (both.text, alone.text)
    assert (both.json()["fill_fraction"], both.json()["weight_kg"]) == (0.5, 12)
    listed = client.get(url, headers=keys["viewer"]).json()
    assert [(p["bin_id"], p["weight_kg"]) for p in listed] == [("b0", 12), ("b1", 18)]

    grams = client.post(url, json={**_done("b0", "10:00"), "weight_kg": 30000}, headers=dispatcher)
    assert grams.status_code == 422
    detail = grams.json()["detail"][0]
    assert detail["loc"] == ["body", "weight_kg"]
    assert "net weight in kg" in detail["msg"] and "without weight_kg" in detail["msg"]
    position = {"vehicle_id": "v1", "at": "2026-11-25T10:00:00+02:00", "kind": "position"}
    resp = client.post(
        url, json={**position, "lon": 24.9, "lat": 60.2, "weight_kg": 5}, headers=dispatcher
    )
    assert resp.status_code == 422 and "weight_kg" in resp.json()["detail"][0]["msg"]
    at = datetime.fromisoformat
    with runtime.db.reader() as s:
        log = repo.collection_log(
            s, at("2026-11-25T00:00:00+02:00"), at("2026-11-26T00:00:00+02:00")
        )
    got = [(p.bin_id, p.fill_fraction, p.weight_kg, p.fill_from_weight) for p in log.pickups]
    assert got == [("b0", 0.5, 12, False), ("b1", pytest.approx(0.75), 18, True)]


def test_lift_weights_teach_a_level_sensors_bin_its_density(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 (240 l, residual: 0.10 kg/l) reads half full an hour before each of three
    pickups whose lift scale took 24 kg: 0.2 kg/l. Its sensor's next weight alone, 24 kg,
    is half full, not full (no alert); without the lift weights it would be full."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    url = f"/plans/{_plan(client, dispatcher, runtime, PLAN_DATE)}/progress"

    def reads(at: str, **value: float) -> dict[str, object]:
        row = {"bin_id": "b0", "at": f"2026-11-25T{at}:00+02:00", **value}
        resp = client.post("/readings", json=[row], headers=keys["sensor"])
        assert resp.status_code == 200 and resp.json()["stored"] == 1, resp.text
        body: dict[str, object] = resp.json()
        return body

    for hour in (8, 10, 12):
        reads(f"{hour:02d}:00", fill_fraction=0.5)
        body = {**_done("b0", f"{hour + 1:02d}:00"), "weight_kg": 24}
        assert client.post(url, json=body, headers=dispatcher).status_code == 201
    assert reads("14:00", weight_kg=24)["alert_ids"] == []
    newest = client.get("/readings", params={"bin_id": "b0"}, headers=keys["viewer"]).json()[0]
    assert newest["fill_fraction"] == pytest.approx(0.5) and newest["fill_from_weight"]


def test_a_bins_density_says_what_plans_load_it_at_and_why(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 (240 l of residual): at the stream's 0.10 kg/l until three pickups found it half
    full with 24 kg lifted (before the clock, 2026-11-24 20:00): then 0.20 measured. A
    density set on the bin wins; an unknown bin is 404."""
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    seed(client, dispatcher)
    before = client.get("/bins/b0/density", headers=viewer).json()
    assert (before["source"], before["planned_kg_per_l"]) == ("stream", pytest.approx(0.10))
    assert before["measured_density_kg_per_l"] is None and before["notes"] == []
    url = f"/plans/{_plan(client, dispatcher, runtime, '2026-11-24')}/progress"
    for hour in (9, 12, 15):
        body = {**_done("b0", "00:00", 0.5), "weight_kg": 24}
        body["at"] = f"2026-11-24T{hour:02d}:00:00+02:00"
        assert client.post(url, json=body, headers=dispatcher).status_code == 201
    got = client.get("/bins/b0/density", headers=viewer).json()
    assert (got["source"], got["measured_density_kg_per_l"]) == ("measured", pytest.approx(0.2))
    assert got["planned_kg_per_l"] == pytest.approx(0.2) and "0.20 kg/l" in got["notes"][0]
    b0 = client.get("/bins/b0", headers=viewer).json()
    b0 = {k: v for k, v in b0.items() if v is not None} | {"density_kg_per_l": 0.3}
    assert client.put("/bins/b0", json=b0, headers=dispatcher).status_code == 200
    set_now = client.get("/bins/b0/density", headers=viewer).json()
    assert (set_now["source"], set_now["planned_kg_per_l"]) == ("set", 0.3)
    assert client.get("/bins/ghost/density", headers=viewer).status_code == 404


def test_a_bins_density_names_weights_heavier_than_it_holds(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """b0 (240 l of residual at 0.10 kg/l) weighs 40 kg alone: 1.67 times the bin at that
    density, stored at 1.5, and its density's notes say so; at 0.20 kg/l set on the bin,
    40 kg is 0.83 full and the note goes."""
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    seed(client, dispatcher)
    row = {"bin_id": "b0", "at": "2026-11-24T18:00:00+02:00", "weight_kg": 40}
    assert client.post("/readings", json=[row], headers=keys["sensor"]).status_code == 200
    heavy = client.get("/bins/b0/density", headers=viewer).json()
    assert any("more than 1.5 times" in n and "b0 40 kg" in n for n in heavy["notes"]), heavy
    b0 = client.get("/bins/b0", headers=viewer).json()
    b0 = {k: v for k, v in b0.items() if v is not None} | {"density_kg_per_l": 0.2}
    assert client.put("/bins/b0", json=b0, headers=dispatcher).status_code == 200
    assert client.get("/bins/b0/density", headers=viewer).json()["notes"] == []


def test_the_readings_benchmark_derives_a_weight_at_test_size() -> None:
    """``benchmarks.api_readings`` at test size: 60 bins, 3 trucks, 3 days of reports (half
    the bins a day); the weight alone becomes a fill, and every timing is reported."""
    from benchmarks.api_readings import run

    got = run(bins=60, trucks=3, days=3, repeat=1, seed=5)
    assert got["reports"] == 90
    assert all(got[k] >= 0 for k in ("one_weight_s", "hundred_weights_s", "city_log_s"))
