"""Trucks' reports around alerts: a bin emptied or missed again (a second visit, not a
resend), unloadings per site, stale positions, full sensors' alerts per emptying."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api import repo
from api.deps import Runtime
from api.planner import TruckProgress
from tests.api.alerts.helpers import NEW_BIN, NOON, accepted_report, seeded_plan
from tests.api.conftest import PLAN_DATE, wait
from tests.api.fakes import FakePlanner


def _v1(runtime: Runtime) -> TruckProgress:
    """Truck v1's progress on the plan date, as a reroute reads it."""
    with runtime.db.reader() as s:
        (v1,) = repo.truck_progress(s, date.fromisoformat(PLAN_DATE))
    return v1


def test_a_bin_reported_again_later_is_a_second_emptying_not_a_resend(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 11:00, resent at 11:10 (dropped), emptied again at 12:30 (kept)."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    for at in ("11:00", "11:10", "12:30"):
        accepted_report(client, url, {**done, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    assert _v1(runtime).done_bin_ids == ("b0", "b0")


def test_the_progress_list_says_which_reports_are_resends(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 11:00, resent at 11:10, emptied again at 12:30; s1 at 12:40, resent at 12:45:
    the answer to each report, and the day's progress list, say ``resend`` of the two
    resends only (a page counting each row a visit took b0's resend for its second one)."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    site = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    reports = [(done, "11:00"), (done, "11:10"), (done, "12:30"), (site, "12:40"), (site, "12:45")]
    sent = [
        accepted_report(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        for body, at in reports
    ]
    expected = [False, True, False, False, True]
    assert [r["resend"] for r in sent] == expected
    listed = client.get(url, headers=dispatcher).json()
    assert [(r["id"], r["resend"]) for r in listed] == [
        (r["id"], resend) for r, resend in zip(sent, expected, strict=True)
    ]


def test_a_bin_emptied_again_within_the_hour_after_other_work_is_kept(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 08:00, b1 at 08:10, b0 again at 08:40 (an alert sent the truck back to it: a
    second emptying, not a resend, though within the hour), then b0 resent at 08:45."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    for bin_id, at in (("b0", "08:00"), ("b1", "08:10"), ("b0", "08:40"), ("b0", "08:45")):
        body = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": bin_id}
        accepted_report(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    assert _v1(runtime).done_bin_ids == ("b0", "b1", "b0")


def _alerted_after(
    client: TestClient, dispatcher: dict[str, str], runtime: Runtime, report: dict[str, str]
) -> str:
    """A plan of the day, v1's ``report`` on b0 at 09:00 and an alert on b0 at 09:05 that
    sends v1 straight back (its reroute done): the plan's progress URL."""
    base = seeded_plan(client, dispatcher, runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:05:00+02:00")
    url = f"/plans/{base}/progress"
    accepted_report(client, url, {**report, "at": "2026-11-25T09:00:00+02:00"}, dispatcher)
    alert = {"bin_id": "b0", "at": "2026-11-25T09:05:00+02:00"}
    assert client.post("/alerts", json=alert, headers=dispatcher).status_code == 202
    wait(runtime)
    return url


def test_a_bin_emptied_again_at_once_after_an_alert_on_it_is_kept(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 09:00; an alert on b0 at 09:05 sends v1 straight back (no other work between),
    b0 again at 09:10: a second emptying, kept; b0 resent at 09:12: dropped. Also in the
    collection log: b0 last emptied at 09:10."""
    dispatcher = keys["dispatcher"]
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    url = _alerted_after(client, dispatcher, runtime, done)
    for at in ("09:10", "09:12"):
        accepted_report(client, url, {**done, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    assert _v1(runtime).done_bin_ids == ("b0", "b0")
    since = datetime.fromisoformat("2026-11-25T00:00:00+02:00")
    with runtime.db.reader() as s:
        log = repo.collection_log(s, since, since + timedelta(days=1))
    assert log.last_emptied["b0"] == datetime.fromisoformat("2026-11-25T09:10:00+02:00")


def test_a_bin_emptied_again_after_an_alert_stays_emptied_twice_once_deleted(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 09:00; an alert on b0 at 09:05 sends v1 straight back, b0 again at 09:10 (both
    reported against the plan before the alert's reroute); then b0 is deleted: its alert
    stays, closed as ``bin_deleted`` with no truck, and the 09:10 emptying stays a second
    one (before, the alert was deleted with the bin, and the 09:10 report was then read as
    a resend: v1 taken to carry one bin less until it unloads)."""
    dispatcher = keys["dispatcher"]
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    url = _alerted_after(client, dispatcher, runtime, done)
    accepted_report(client, url, {**done, "at": "2026-11-25T09:10:00+02:00"}, dispatcher)
    assert client.delete("/bins/b0", headers=dispatcher).is_success
    wait(runtime)
    alerts = client.get("/alerts", headers=dispatcher).json()
    assert [(a["bin_id"], a["status"], a["vehicle_id"]) for a in alerts] == [
        ("b0", "bin_deleted", None)
    ]
    assert _v1(runtime).done_bin_ids == ("b0", "b0")
    dismiss = client.post(f"/alerts/{alerts[0]['id']}/dismiss", headers=dispatcher)
    assert dismiss.status_code == 409 and "already closed (bin_deleted)" in dismiss.text
    listed = client.get("/alerts?status=bin_deleted", headers=dispatcher).json()
    assert [a["id"] for a in listed] == [alerts[0]["id"]]


def _missed_twice(
    client: TestClient, key: dict[str, str], runtime: Runtime, crew_alerts: tuple[str, str]
) -> None:
    """v1 passed b0 twice, both misses kept, and once the jobs are idle, crew alerts stand
    at the two local times ``crew_alerts`` ("HH:MM" on 2026-11-25)."""
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))
    wait(runtime)
    alerts = client.get("/alerts", headers=key).json()
    crew = sorted(datetime.fromisoformat(a["at"]) for a in alerts if a["source"] == "crew")
    assert crew == [datetime.fromisoformat(f"2026-11-25T{t}:00+02:00") for t in crew_alerts]


def test_a_bin_missed_again_at_once_after_an_alert_on_it_is_a_second_missed_visit(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """v1's crew cannot empty b0 at 09:00; an alert on b0 at 09:05 sends v1 straight back
    (no other work between), and at 09:10 its crew again cannot empty it: a second stop
    passed, kept, and it raises an alert of its own (before, taken for a resend of the
    09:00 report: dropped, as only an emptying after an alert was kept); the tablet
    retrying the 09:10 report is a resend."""
    dispatcher = keys["dispatcher"]
    missed = {"vehicle_id": "v1", "kind": "visit_missed", "bin_id": "b0"}
    url = _alerted_after(client, dispatcher, runtime, missed)
    sent = [
        accepted_report(client, url, {**missed, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        for at in ("09:10", "09:10")
    ]
    assert [r["resend"] for r in sent] == [False, True]
    _missed_twice(client, dispatcher, runtime, ("09:00", "09:10"))


def test_a_bin_missed_twice_on_a_day_gone_by_is_one_miss_pressed_twice(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A tablet syncing the next morning: v1's crew could not empty b0 at 09:00 and at
    09:20 of the day before, nothing between. No alert is raised for a day gone by, so
    nothing sent v1 back: the 09:20 report is the button pressed twice (a resend), one
    stop passed; a miss of b0 after other work (an unloading) counts again."""
    dispatcher = keys["dispatcher"]
    url = f"/plans/{seeded_plan(client, dispatcher, runtime)}/progress"
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-26T07:00:00+02:00")
    missed = {"vehicle_id": "v1", "kind": "visit_missed", "bin_id": "b0"}
    unloaded = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    sent = [
        accepted_report(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        for body, at in (
            (missed, "09:00"),
            (missed, "09:20"),
            (unloaded, "09:40"),
            (missed, "09:50"),
        )
    ]
    assert [r["resend"] for r in sent] == [False, True, False, False]
    wait(runtime)
    assert client.get("/alerts", headers=dispatcher).json() == []
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))


def test_a_bin_missed_again_after_its_own_crew_alert_is_a_second_missed_visit(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """v1's crew cannot empty b0 at 09:00 (parked car): the report raises a crew alert at
    09:00, whose reroute sends v1 back; at 09:30 its crew again cannot empty it: a second
    stop passed, kept, raising an alert of its own (before, an alert raised at the report's
    own time did not count as sending the truck back, and the miss within the hour was
    taken for a resend: dropped, no alert); the tablet retrying the 09:30 report (the same
    ``at`` and reason) is a resend. Both misses stand when b0 is deleted then, and its
    alerts stay, closed (before, they were deleted with the bin; read without the 09:00
    alert, the 09:30 miss was taken for a resend: the re-plan took v1's second visit of
    b0 for one still to do, and dropped it)."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    missed = {"vehicle_id": "v1", "kind": "visit_missed", "bin_id": "b0", "reason": "parked car"}
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:00:00+02:00")
    accepted_report(client, url, {**missed, "at": "2026-11-25T09:00:00+02:00"}, dispatcher)
    wait(runtime)
    (first,) = client.get("/alerts", headers=dispatcher).json()
    assert (first["source"], first["status"]) == ("crew", "rerouted")
    assert planner.reroutes[-1]["urgent"] == ["b0"]  # the fake sends v1 (its first truck)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:30:00+02:00")
    again = {**missed, "at": "2026-11-25T09:30:00+02:00"}
    sent = [accepted_report(client, url, again, dispatcher) for _ in range(2)]
    assert [r["resend"] for r in sent] == [False, True]
    _missed_twice(client, dispatcher, runtime, ("09:00", "09:30"))
    assert client.delete("/bins/b0", headers=dispatcher).is_success
    wait(runtime)
    assert [
        (a["source"], a["status"])
        for a in client.get("/alerts", headers=dispatcher).json()
        if a["bin_id"] == "b0"
    ] == [("crew", "bin_deleted")] * 2
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))


def test_unloadings_are_reported_per_site_and_checked(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """s1 at 09:00, resent at 09:05 (dropped), again at 11:30 (a second trip, kept); bad
    reports name the field or the record."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    site = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    for at in ("09:00", "09:05", "11:30"):
        got = accepted_report(client, url, {**site, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        assert (got["kind"], got["site_id"]) == ("disposal_done", "s1")
    done = {"vehicle_id": "v1", "at": NOON, "kind": "visit_done", "bin_id": "b0"}
    accepted_report(client, url, done, dispatcher)
    v1 = _v1(runtime)
    assert (v1.done_site_ids, v1.done_bin_ids) == (("s1", "s1"), ("b0",))
    assert v1.done_at == (datetime.fromisoformat(NOON),)  # when each bin was emptied
    assert v1.unloaded_at == datetime.fromisoformat("2026-11-25T11:30:00+02:00")  # the last

    unload = {"vehicle_id": "v1", "at": NOON, "kind": "disposal_done"}
    for extra, word in (({}, "site_id"), ({"site_id": "s1", "bin_id": "b0"}, "bin_id")):
        resp = client.post(url, json={**unload, **extra}, headers=dispatcher)
        assert resp.status_code == 422
        assert word in resp.json()["detail"][0]["msg"]
    resp = client.post(url, json={**done, "site_id": "s1"}, headers=dispatcher)
    assert resp.status_code == 422
    assert "disposal_done" in resp.json()["detail"][0]["msg"]
    resp = client.post(url, json={**unload, "site_id": "tip-9"}, headers=dispatcher)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["record"] == "site_id='tip-9'"


def test_a_position_older_than_the_last_done_report_is_dropped(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Position at 11:30, bin done at 12:00: the truck has moved on, its position is unknown;
    a new position at 12:10 counts again."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    pos = {"vehicle_id": "v1", "kind": "position", "lon": 24.95, "lat": 60.175}
    reports: list[dict[str, Any]] = [
        {**pos, "at": "2026-11-25T11:30:00+02:00"},
        {"vehicle_id": "v1", "at": NOON, "kind": "visit_done", "bin_id": "b0"},
    ]
    for body in reports:
        accepted_report(client, url, body, dispatcher)

    v1 = _v1(runtime)
    assert (v1.lon, v1.lat) == (None, None)
    later = {**pos, "at": "2026-11-25T12:10:00+02:00", "lon": 24.96}
    accepted_report(client, url, later, dispatcher)
    v1 = _v1(runtime)
    assert (v1.lon, v1.lat) == (24.96, 60.175)


def test_a_second_unloading_soon_after_new_bins_is_not_a_resend(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """s1 at 09:00, b0 emptied at 09:03, s1 again at 09:08 (a short trip, kept: the truck
    had something to unload), resent at 09:10 (dropped: nothing collected since)."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    site = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    for body, at in ((site, "09:00"), (done, "09:03"), (site, "09:08"), (site, "09:10")):
        accepted_report(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    v1 = _v1(runtime)
    assert (v1.done_site_ids, v1.done_bin_ids) == (("s1", "s1"), ("b0",))


def test_an_alert_older_than_the_bins_emptying_needs_no_new_visit(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """A citizen's report of 08:55 reaches the service after the crew emptied the bin at
    09:00: the alert reads 'emptied', with the plan being driven, and nothing is rerouted (a
    second visit would find an empty bin). A new overflow after the emptying reroutes."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    accepted_report(
        client, f"/plans/{base}/progress", {**done, "at": "2026-11-25T09:00:00+02:00"}, dispatcher
    )
    stale = client.post(
        "/alerts", json={"bin_id": "b0", "at": "2026-11-25T08:55:00+02:00"}, headers=dispatcher
    ).json()
    wait(runtime)
    got = client.get(f"/alerts/{stale['id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_id"]) == ("emptied", base)
    assert planner.reroutes == []  # nothing to reroute for
    fresh = client.post(
        "/alerts", json={"bin_id": "b0", "at": "2026-11-25T11:00:00+02:00"}, headers=dispatcher
    ).json()
    wait(runtime)
    assert client.get(f"/alerts/{fresh['id']}", headers=dispatcher).json()["status"] == "rerouted"
    assert planner.reroutes[-1]["urgent"] == ["b0"]


def test_a_full_sensor_raises_one_alert_per_emptying(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A sensor above the threshold keeps reporting: one alert until the bin is emptied;
    full again in the afternoon, a second one."""
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)

    def full(at: str) -> None:
        reading = [{"bin_id": "b0", "at": f"2026-11-25T{at}:00+02:00", "fill_fraction": 0.99}]
        assert client.post("/readings", json=reading, headers=dispatcher).status_code == 200

    full("08:00")
    full("08:30")
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    accepted_report(
        client, f"/plans/{base}/progress", {**done, "at": "2026-11-25T09:00:00+02:00"}, dispatcher
    )
    full("15:00")
    full("15:30")
    wait(runtime)
    alerts = client.get("/alerts?plan_date=2026-11-25", headers=dispatcher).json()
    assert [a["at"] for a in alerts if a["bin_id"] == "b0"] == [
        "2026-11-25T06:00:00Z",
        "2026-11-25T13:00:00Z",
    ]


def test_a_bin_listed_again_after_its_deletion_gets_its_sensors_alert(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b9's sensor reads full at 08:00 (an alert); b9 is deleted, then listed again under
    its id, and its sensor reads full at 10:00: a new alert, as the one before was closed
    with the deleted bin (not taken for the bin's alert of the day, which would leave the
    full bin unalerted)."""
    dispatcher = keys["dispatcher"]
    seeded_plan(client, dispatcher, runtime)

    def full(at: str) -> None:
        reading = [{"bin_id": "b9", "at": f"2026-11-25T{at}:00+02:00", "fill_fraction": 0.99}]
        assert client.post("/readings", json=reading, headers=dispatcher).status_code == 200

    full("08:00")
    wait(runtime)
    assert client.delete("/bins/b9", headers=dispatcher).is_success
    wait(runtime)
    assert client.post("/bins", json=NEW_BIN, headers=dispatcher).status_code == 201
    full("10:00")
    wait(runtime)
    alerts = client.get("/alerts?plan_date=2026-11-25", headers=dispatcher).json()
    assert [(a["at"], a["status"]) for a in alerts if a["bin_id"] == "b9"] == [
        ("2026-11-25T06:00:00Z", "bin_deleted"),
        ("2026-11-25T08:00:00Z", "rerouted"),
    ]
