"""Plan jobs: request -> background job -> status and progress -> done -> plan and exports."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db import NightlyRunRow
from api.deps import Runtime, get_settings
from fleet.errors import FleetDataError
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner


def _request(client: TestClient, headers: dict[str, str], **extra: object) -> dict[str, Any]:
    resp = client.post("/plans", json={"plan_date": PLAN_DATE, **extra}, headers=headers)
    assert resp.status_code == 202, resp.text
    return resp.json()


def test_plan_job_runs_in_background_and_serves_exports(
    app: FastAPI,
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    seed(client, dispatcher)
    planner.gate = threading.Event()
    queued = _request(client, dispatcher, time_limit_s=3)
    assert queued["status"] == "queued"
    assert queued["version"] == 1
    # while the job waits at the gate it is running with the progress it reported
    for _ in range(1000):
        running = client.get(f"/plans/{queued['id']}", headers=viewer).json()
        if running["progress"] == 0.5:
            break
        threading.Event().wait(0.02)
    assert running["status"] == "running"
    assert running["message"] == "half way"
    for suffix in ("csv", "sheets", "directions/v1"):
        assert client.get(f"/plans/{queued['id']}/{suffix}", headers=viewer).status_code == 409
    planner.gate.set()
    wait(runtime)
    done = client.get(f"/plans/{queued['id']}", headers=viewer).json()
    assert done["status"] == "done"
    assert done["progress"] == 1.0
    assert done["kpis"] == {"bins_collected": 4, "km": None}  # NaN is served as null
    call = planner.calls[0]
    assert call["time_limit_s"] == 3
    assert {r.bin_id for r in call["readings"]} == {"b0", "b1", "b2", "b3"}
    assert {b.bin_id for b in call["inventory"].bins} == {"b0", "b1", "b2", "b3"}

    pid = queued["id"]
    assert client.get(f"/plans/{pid}/kpis", headers=viewer).json()["bins_collected"] == 4
    routes = client.get(f"/plans/{pid}/routes", headers=viewer).json()
    assert [r["vehicle_id"] for r in routes["routes"]] == ["v1", "v2"]
    geo = client.get(f"/plans/{pid}/geojson", headers=viewer)
    assert geo.headers["content-type"].startswith("application/geo+json")
    assert geo.json()["type"] == "FeatureCollection"
    csv = client.get(f"/plans/{pid}/csv", headers=viewer)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")  # for Excel to read it as UTF-8
    assert csv.text.splitlines()[1:] == ["v1,0,b0", "v1,1,b2", "v2,0,b1", "v2,1,b3"]
    gpx = client.get(f"/plans/{pid}/gpx/v2", headers=viewer)
    assert gpx.headers["content-type"].startswith("application/gpx+xml")
    assert "v2" in gpx.text
    assert client.get(f"/plans/{pid}/gpx/v7", headers=viewer).status_code == 404
    assert client.get(f"/plans/{pid}/vroom", headers=viewer).json()["code"] == 0
    sheets = client.get(f"/plans/{pid}/sheets", headers=viewer)
    assert sheets.headers["content-type"].startswith("text/html")
    assert sheets.text.count("<section>") == 2 and "<h1>v2: " in sheets.text
    one = client.get(f"/plans/{pid}/sheets", params={"vehicle_id": "v2"}, headers=viewer)
    assert one.text.count("<section>") == 1 and "<h1>v2: " in one.text
    assert client.get(f"/plans/{pid}/directions/v1", headers=viewer).json()["legs"] == []
    for suffix in ("directions/v7", "sheets?vehicle_id=v7"):
        missing = client.get(f"/plans/{pid}/{suffix}", headers=viewer)
        assert missing.status_code == 404 and "v7" in missing.text
    portuguese = runtime.settings.model_copy(update={"language": "pt"})
    app.dependency_overrides[get_settings] = lambda: portuguese  # BINROUTE_LANGUAGE=pt
    page = client.get(f"/plans/{pid}/sheets", headers=viewer).text
    assert '<html lang="pt">' in page and "<th>chegada</th>" in page
    english = client.get(f"/plans/{pid}/sheets", params={"language": "en"}, headers=viewer).text
    assert '<html lang="en">' in english and "<th>arrive</th>" in english


def _until(check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds within 20 s (polled)."""
    for _ in range(1000):
        if check():
            return True
        threading.Event().wait(0.02)
    return False


def test_plan_jobs_of_one_day_run_in_turn(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """A second plan job of a day whose first is still running waits for it (queued, saying
    so), then runs: it reads its inputs after the first is done."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    planner.gate = threading.Event()
    first = _request(client, dispatcher)
    assert _until(lambda: len(planner.calls) == 1)
    second = _request(client, dispatcher, time_limit_s=2)  # another request: the same is one

    def waiting() -> bool:
        row = client.get(f"/plans/{second['id']}", headers=dispatcher).json()
        return bool(row["status"] == "queued" and "waiting for" in row["message"])

    assert _until(waiting)
    assert len(planner.calls) == 1
    planner.gate.set()
    wait(runtime)
    assert len(planner.calls) == 2
    rows = [client.get(f"/plans/{p['id']}", headers=dispatcher).json() for p in (first, second)]
    assert [r["status"] for r in rows] == ["done", "done"]


def test_the_same_plan_request_while_its_job_is_queued_or_running_answers_that_job(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """A plan request sent twice (a double click) queued two identical jobs, the second
    solving the day again after the first. Now the same request (its date and budget) while
    its job is queued or running answers that job: 202, its id, a note saying so. Another
    budget is another request, and once the job is done the same request queues a new one
    (it reads the inputs of then)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    planner.gate = threading.Event()
    default_s = runtime.settings.default_time_limit_s
    try:
        running = _request(client, dispatcher, time_limit_s=3)
        assert _until(lambda: len(planner.calls) == 1)
        queued = _request(client, dispatcher)  # waits for the running one (a day's in turn)
        assert queued["id"] != running["id"]
        assert running.get("note") is None and queued.get("note") is None
        same_running = _request(client, dispatcher, time_limit_s=3)
        same_queued = _request(client, dispatcher, time_limit_s=default_s)  # default spelt out
    finally:
        planner.gate.set()
    assert (same_running["id"], same_queued["id"]) == (running["id"], queued["id"])
    assert f"already running as plan {running['id']}" in same_running["note"]
    assert f"already queued as plan {queued['id']}" in same_queued["note"]
    wait(runtime)
    assert [c["time_limit_s"] for c in planner.calls] == [3, default_s]
    listed = client.get("/plans", params={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    assert sorted(p["id"] for p in listed) == sorted([running["id"], queued["id"]])
    later = _request(client, dispatcher, time_limit_s=3)
    assert later["id"] not in (running["id"], queued["id"]) and later["note"] is None
    wait(runtime)
    assert len(planner.calls) == 3


def test_identical_plan_requests_at_once_queue_one_job(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Identical plan requests arriving together (two tabs, a client's retry) are checked
    and queued one at a time: one job, each answer its id, all but the first with a note."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    planner.gate = threading.Event()  # the job stays running while the requests come
    n = 6
    start = threading.Barrier(n)

    def request(_: int) -> Any:
        start.wait(10)
        return client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)

    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            answers = list(pool.map(request, range(n)))
    finally:
        planner.gate.set()
    wait(runtime)
    assert [a.status_code for a in answers] == [202] * n, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.json()["note"] is None for a in answers) == [False] * (n - 1) + [True]
    assert len(planner.calls) == 1


def test_time_limit_is_capped_by_settings(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    seed(client, keys["dispatcher"])
    plan = _request(client, keys["dispatcher"], time_limit_s=3600)
    assert plan["time_limit_s"] == runtime.settings.max_time_limit_s
    wait(runtime)


def test_versions_increase_per_date(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    seed(client, keys["dispatcher"])
    versions = [_request(client, keys["dispatcher"], time_limit_s=t)["version"] for t in (1, 2, 3)]
    wait(runtime)
    assert versions == [1, 2, 3]
    listed = client.get("/plans", params={"plan_date": PLAN_DATE}, headers=keys["viewer"])
    assert [p["version"] for p in listed.json()] == [3, 2, 1]


def test_failed_job_keeps_the_reason(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    seed(client, keys["dispatcher"])
    planner.fail_with = FleetDataError("bin 'b2': capacity_l must be > 0")
    plan = _request(client, keys["dispatcher"])
    wait(runtime)
    got = client.get(f"/plans/{plan['id']}", headers=keys["viewer"]).json()
    assert got["status"] == "failed"
    assert "b2" in got["message"]


def test_unknown_plan_is_404(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    suffixes = ("", "/kpis", "/csv", "/geojson", "/vroom", "/gpx/v1", "/diff", "/progress")
    for suffix in (*suffixes, "/directions/v1", "/sheets"):
        assert client.get(f"/plans/999{suffix}", headers=keys["viewer"]).status_code == 404


def test_bad_plan_request_is_422(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    for body, field in (
        ({"plan_date": "25.11.2026"}, "plan_date"),
        ({"plan_date": PLAN_DATE, "time_limit_s": 0}, "time_limit_s"),
        ({"plan_date": PLAN_DATE, "engine": "x"}, "engine"),
    ):
        resp = client.post("/plans", json=body, headers=keys["dispatcher"])
        assert resp.status_code == 422
        assert resp.json()["detail"][0]["loc"] == ["body", field]


def test_interrupted_jobs_are_marked_failed_on_restart(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    row = runtime.jobs.create_plan(
        __import__("datetime").date(2026, 11, 25), 1, "request", status="running"
    )
    with runtime.db.writer() as s:
        s.add(NightlyRunRow(plan_date=row.plan_date, status="running", plan_id=row.id))
    assert runtime.jobs.recover() == 1
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, row.plan_date)
        assert run is not None and run.status == "failed"  # so the nightly run may retry
    got = client.get(f"/plans/{row.id}", headers=keys["viewer"]).json()
    assert got["status"] == "failed"
    assert "restart" in got["message"]


def test_a_truck_report_that_cannot_be_of_the_plans_day_is_422(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Each names the field and the fix, and nothing is stored: a mistyped bin ("B0" for
    b0), a tablet clock a year off, no GPS fix (0, 0), lon and lat swapped. A position in
    town, a bin listed and a time on the plan's day are taken."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    plan = _request(client, dispatcher)
    wait(runtime)
    url = f"/plans/{plan['id']}/progress"
    day = f"{PLAN_DATE}T09:00:00+02:00"
    done = {"vehicle_id": "v1", "at": day, "kind": "visit_done", "bin_id": "b0"}
    where = {"vehicle_id": "v1", "at": day, "kind": "position"}
    cases = [
        ({**done, "bin_id": "B0"}, "bin_id", "unknown bin 'B0'"),
        ({**done, "at": "2027-11-25T09:00:00+02:00"}, "at", "not on plan"),
        ({**done, "at": f"{PLAN_DATE}T01:30:00+00:00"}, None, None),  # 03:30 in Helsinki
        ({**done, "at": f"{PLAN_DATE}T23:30:00+00:00"}, "at", "check the tablet's clock"),
        ({**where, "lon": 0, "lat": 0}, "lon", "without a fix"),
        ({**where, "lon": 60.17, "lat": 24.94}, "lon", "send lon, lat in that order"),
        ({**where, "lon": 24.95, "lat": 60.18}, None, None),
    ]
    for body, field, words in cases:
        got = client.post(url, json=body, headers=dispatcher)
        if field is None:
            assert got.status_code == 201, (body, got.text)
            continue
        assert got.status_code == 422, (body, got.text)
        (err,) = got.json()["detail"]
        assert err["loc"] == ["body", field] and words in err["msg"], err
    stored = client.get(url, headers=dispatcher).json()
    assert [(p["kind"], p["bin_id"]) for p in stored] == [("visit_done", "b0"), ("position", None)]
    # on the plan's day but an hour after the service's clock (15 min of skew allowed)
    runtime.jobs.settings = runtime.jobs.settings.model_copy(update={"clock_skew_min": 15})
    runtime.jobs.clock = lambda: datetime.fromisoformat(f"{PLAN_DATE}T08:00:00+02:00")
    ahead = client.post(url, json=done, headers=dispatcher)
    assert ahead.status_code == 422 and "after the service's clock" in ahead.text
