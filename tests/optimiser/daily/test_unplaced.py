"""Bins no street reaches in a day being driven: on the tiny street town (tests.network)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fleet.models import Bin, Depot, DisposalSite, FillReading, Inventory, Vehicle
from network.errors import SnapError
from network.providers import StreetProvider
from network.streets import StreetNetwork
from optimiser.check import check
from optimiser.daily import DayPlan, plan_day, replan_day, reroute_day
from optimiser.export import plan_json
from optimiser.params import SolveParams
from optimiser.plan import UnservedKind, VisitKind
from optimiser.reroute import Progress
from tests.network.conftest import ON_ISLAND, build_tiny_graph, grid, write_island_town
from tests.optimiser.conftest import at_row, done_through, route_work, street_town

TZ = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 11, 25)
OFF_THE_MAP = grid(1, 6)  # about 520 m north of the town's northern street
FARTHER = grid(1, 7)


def _bin(bin_id: str, at: tuple[float, float]) -> Bin:
    return Bin(bin_id=bin_id, lon=at[0], lat=at[1], capacity_l=240)


@pytest.fixture(scope="module")
def streets() -> StreetProvider:
    """The six-node street town, snapping within 250 m."""
    return StreetProvider(StreetNetwork.from_graph(build_tiny_graph()), max_snap_m=250.0)


@pytest.fixture(scope="module")
def town() -> tuple[Inventory, list[FillReading]]:
    """Depot at A, site at C, two nearly full bins along the bottom row, one nearly empty
    on A-D; one truck."""
    inventory = street_town(
        (_bin("b1", grid(0.5, 0)), _bin("b2", grid(1.5, 0)), _bin("b3", grid(0, 0.5)))
    )
    eve = datetime.combine(DAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [
        FillReading(bin_id=b, at=eve, fill_fraction=f)
        for b, f in (("b1", 0.95), ("b2", 0.95), ("b3", 0.05))
    ]
    return inventory, readings


@pytest.fixture(scope="module")
def day(town: tuple[Inventory, list[FillReading]], streets: StreetProvider) -> DayPlan:
    inventory, readings = town
    params = SolveParams(time_limit_s=1.0, seed=1)
    day = plan_day(inventory, readings, [], streets, plan_date=DAY, tz=TZ, params=params)
    assert {"b1", "b2"} <= day.plan.served_refs and "b3" not in day.plan.served_refs
    return day


def _reason(streets: StreetProvider, at: tuple[float, float]) -> str:
    """What the day says of a bin at ``at``, with the provider's own distance."""
    metres = streets.far_points([at])[0]
    return (
        f"no truck can reach it: ({at[0]:.6f}, {at[1]:.6f}) is {metres:.0f} m from the "
        "nearest drivable street (limit 250 m); fix its coordinates"
    )


def test_a_reroute_leaves_out_an_alerted_or_moved_bin_no_street_reaches(
    day: DayPlan, town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """Alerts name b3 and a new bin whose coordinates are off the map, and b2 (planned) was
    moved off the map since: b3 is rerouted, the other two are unserved with the reason
    (the whole reroute failed with a SnapError), the checker finds nothing and the KPIs
    count them. A re-plan of that day keeps them unserved."""
    inventory, readings = town
    lost = _bin("lost", OFF_THE_MAP)
    moved = dataclasses.replace(inventory.bin("b2"), lon=FARTHER[0], lat=FARTHER[1])
    now = dataclasses.replace(
        inventory, bins=(inventory.bin("b1"), moved, inventory.bin("b3"), lost)
    )
    new_day, _ = reroute_day(
        day,
        [],
        ["b3", "lost"],
        streets,
        now=day.at(7 * 3600),
        params=SolveParams(time_limit_s=1),
        inventory=now,
    )
    assert new_day.violations == () and check(new_day.built.problem, new_day.plan) == []
    assert {"b1", "b3"} <= new_day.plan.served_refs
    assert {(u.ref, u.reason) for u in new_day.unserved} == {
        ("b2", _reason(streets, FARTHER)),
        ("lost", _reason(streets, OFF_THE_MAP)),
    }
    assert (new_day.kpis["unserved"], new_day.kpis["unserved_must"]) == (2, 2)
    doc = plan_json(new_day)
    assert {(u["bin_id"], u["required"], u["alert"], u["kind"]) for u in doc["unserved"]} == {
        ("b2", True, False, "unreachable"),
        ("lost", True, True, "unreachable"),
    }
    again, _ = replan_day(
        new_day, [], readings, [], streets, now=day.at(8 * 3600), inventory=now, alerted=["lost"]
    )
    assert again.violations == ()
    assert {u.ref for u in again.unserved} == {"b2", "lost"}
    assert {u.kind for u in again.unserved} == {UnservedKind.UNREACHABLE}
    assert (again.kpis["unserved"], again.kpis["unserved_must"]) == (2, 2)


def test_a_plan_marks_an_alert_on_a_bin_no_street_reaches_as_an_alert(
    town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """A plan made while alerts on b3 and on a bin entered off the map wait: that bin is
    unserved with the reason and its visit is still an alert's (``DayPlan.alerted``, plan.json
    ``alert: true``; it kept only visits with a stop, so the alert looked planned)."""
    inventory, readings = town
    now = dataclasses.replace(inventory, bins=(*inventory.bins, _bin("lost", OFF_THE_MAP)))
    params = SolveParams(time_limit_s=1.0, seed=1)
    day = plan_day(
        now, readings, [], streets, plan_date=DAY, tz=TZ, params=params, alerted=["b3", "lost"]
    )
    assert day.violations == () and "b3" in day.plan.served_refs
    assert [(u.ref, u.reason) for u in day.unserved] == [("lost", _reason(streets, OFF_THE_MAP))]
    assert [u.kind for u in day.unserved] == [UnservedKind.UNREACHABLE]
    assert set(day.alerted) == {"b3", "lost"}
    doc = plan_json(day)
    assert [(u["bin_id"], u["required"], u["alert"]) for u in doc["unserved"]] == [
        ("lost", True, True)
    ]


def _first_bin_done(day: DayPlan) -> tuple[str, Progress]:
    """The first bin of t1's route in ``day``, and t1 having emptied it as planned."""
    work = route_work(day, "t1")
    last = next(i for i, v in enumerate(work) if v.kind is VisitKind.BIN)
    return work[last].ref, done_through("t1", work, last)


def test_a_replan_leaves_out_the_next_visit_of_a_bin_emptied_today_then_moved_off_the_map(
    day: DayPlan, town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """t1 emptied its first bin; the bin is full again and has since been moved off the map:
    a re-plan keeps its visit done and lists its second visit (``<bin>#2``) unserved with
    the reason (it listed the first visit, which was served)."""
    inventory, readings = town
    emptied, progress = _first_bin_done(day)
    moved = dataclasses.replace(inventory.bin(emptied), lon=FARTHER[0], lat=FARTHER[1])
    now = dataclasses.replace(
        inventory, bins=tuple(moved if b.bin_id == emptied else b for b in inventory.bins)
    )
    later = day.at(10 * 3600)
    full_again = FillReading(bin_id=emptied, at=later, fill_fraction=0.95)
    again, _ = replan_day(
        day, [progress], [*readings, full_again], [], streets, now=later, inventory=now
    )
    assert again.violations == () and emptied in again.plan.served_refs
    assert [(u.ref, u.reason) for u in again.unserved] == [
        (f"{emptied}#2", _reason(streets, FARTHER))
    ]
    assert [u.kind for u in again.unserved] == [UnservedKind.UNREACHABLE]
    assert (again.kpis["unserved"], again.kpis["unserved_must"]) == (1, 1)


def test_a_reroute_routes_a_bin_left_out_whose_coordinates_were_fixed_since(
    day: DayPlan, town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """b2 (planned, a must bin) was moved off the map: a reroute left it out, unserved. Its
    coordinates are fixed (next to where it was) before the next reroute: that one empties
    it where it is now and no longer lists it (it kept saying "fix its coordinates", with
    the old ones, until a re-plan). One moved farther instead is listed with where it is now."""
    inventory, _ = town

    def b2_at(at: tuple[float, float]) -> Inventory:
        b2 = dataclasses.replace(inventory.bin("b2"), lon=at[0], lat=at[1])
        return dataclasses.replace(
            inventory, bins=tuple(b2 if b.bin_id == "b2" else b for b in inventory.bins)
        )

    def rerouted(before: DayPlan, hour: int, now: Inventory) -> DayPlan:
        new_day, _ = reroute_day(
            before,
            [],
            ["b3"],
            streets,
            now=day.at(hour * 3600),
            params=SolveParams(time_limit_s=1),
            inventory=now,
        )
        assert new_day.violations == ()
        return new_day

    away = rerouted(day, 7, b2_at(OFF_THE_MAP))
    assert [(u.ref, u.reason) for u in away.unserved] == [("b2", _reason(streets, OFF_THE_MAP))]
    assert [u.kind for u in away.unserved] == [UnservedKind.UNREACHABLE]
    fixed = rerouted(away, 8, b2_at(grid(1.6, 0)))
    assert {"b1", "b2", "b3"} <= fixed.plan.served_refs and fixed.unserved == ()
    (route,) = fixed.plan.routes
    (visit,) = [v for v in route.visits if v.ref == "b2"]
    assert fixed.built.problem.matrix.points[visit.location or 0] == grid(1.6, 0)
    assert (fixed.kpis["unserved"], fixed.kpis["unserved_must"]) == (0, 0)
    # its fill at pickup is the day's forecast for it (it was missing from the KPI's mean)
    (b2,) = [d for d in day.decisions if d.bin_id == "b2"]
    assert fixed.fill_at_pickup["b2"] == pytest.approx(b2.expected_fill_fraction)
    farther = rerouted(away, 8, b2_at(FARTHER))
    assert [(u.ref, u.reason) for u in farther.unserved] == [("b2", _reason(streets, FARTHER))]
    assert [u.kind for u in farther.unserved] == [UnservedKind.UNREACHABLE]


def test_a_re_plan_keeps_an_earlier_alert_on_a_bin_no_street_reaches_until_it_is_closed(
    day: DayPlan, town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """A reroute left out an alert on a bin off the map (unserved, alert: true). A re-plan
    not told of the alert again keeps it, as it keeps an earlier alert's visit still to do:
    unserved, a must bin, alert: true (it was chosen, or not, as any bin with no reading,
    its alert forgotten); closed, it is an alert no more."""
    inventory, readings = town
    now = dataclasses.replace(inventory, bins=(*inventory.bins, _bin("lost", OFF_THE_MAP)))
    alerted, _ = reroute_day(
        day,
        [],
        ["lost"],
        streets,
        now=day.at(7 * 3600),
        params=SolveParams(time_limit_s=1),
        inventory=now,
    )
    assert alerted.alerted == ("lost",)

    def replanned(closed: tuple[str, ...]) -> DayPlan:
        again, _ = replan_day(
            alerted,
            [],
            readings,
            [],
            streets,
            now=day.at(8 * 3600),
            params=SolveParams(time_limit_s=1),
            inventory=now,
            closed=closed,
        )
        assert again.violations == ()
        return again

    kept = replanned(())
    assert kept.alerted == ("lost",)
    assert [(u.ref, u.reason) for u in kept.unserved] == [("lost", _reason(streets, OFF_THE_MAP))]
    assert [u.kind for u in kept.unserved] == [UnservedKind.UNREACHABLE]
    assert (kept.kpis["unserved"], kept.kpis["unserved_must"]) == (1, 1)
    doc = plan_json(kept)
    assert [(u["bin_id"], u["required"], u["alert"]) for u in doc["unserved"]] == [
        ("lost", True, True)
    ]
    assert "lost" not in replanned(("lost",)).alerted


def test_a_reroute_empties_an_earlier_alert_left_out_as_an_alert_once_its_bin_is_placed(
    day: DayPlan, town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """A reroute left out an alert on a bin off the map; its coordinates are fixed before the
    next reroute (for another alert): that one empties it as the alert it is, loaded full
    (fill at pickup 1.0, as every alert's visit), still marked alerted."""
    inventory, _ = town
    lost = _bin("lost", OFF_THE_MAP)
    now = dataclasses.replace(inventory, bins=(*inventory.bins, lost))
    fixed = dataclasses.replace(inventory, bins=(*inventory.bins, _bin("lost", grid(1, 0.2))))
    before = day
    for hour, alert, at in ((7, "lost", now), (8, "b3", fixed)):
        before, _ = reroute_day(
            before,
            [],
            [alert],
            streets,
            now=day.at(hour * 3600),
            params=SolveParams(time_limit_s=1),
            inventory=at,
        )
        assert before.violations == ()
    assert {"lost", "b3"} <= before.plan.served_refs and before.unserved == ()
    assert {"lost", "b3"} <= set(before.alerted)
    assert (before.fill_at_pickup["lost"], before.fill_at_pickup["b3"]) == (1.0, 1.0)


def test_a_bin_by_a_street_cut_off_from_the_network_is_not_told_to_fix_its_coordinates(
    tmp_path: Path,
) -> None:
    """In the island town (tests.network.conftest) a full bin 7 m from Island Road, which a
    bollard cuts off from the square the truck drives, is unserved as unreachable: the
    reason said "fix its coordinates", as for a misplaced bin; it now says that the street
    it stands by is cut off, names it, and what to check. The bin on the square is served."""
    from network import load_network

    _, pbf = write_island_town(tmp_path)
    net = load_network(pbf, cache_dir=tmp_path / "cache", engine="scipy")
    on_square, corner = (10.0005, 50.0), (10.0, 50.0)
    inventory = street_town(
        (_bin("b1", on_square), _bin("b2", ON_ISLAND)), depot=corner, site=(10.001, 50.001)
    )
    eve = datetime.combine(DAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b, at=eve, fill_fraction=0.95) for b in ("b1", "b2")]
    params = SolveParams(time_limit_s=1.0, seed=1)
    day = plan_day(
        inventory, readings, [], StreetProvider(net), plan_date=DAY, tz=TZ, params=params
    )
    assert "b1" in day.plan.served_refs and check(day.built.problem, day.plan) == []
    [lost] = day.unserved
    assert lost.ref == "b2" and lost.kind is UnservedKind.UNREACHABLE
    assert lost.reason.startswith("no truck can reach it: (10.006100, 50.001500) is "), lost
    assert "it stands 7 m from 'Island Road' (residential, OSM way 21)" in lost.reason
    assert "cut off" in lost.reason and "fix its coordinates" not in lost.reason


def _far(streets: StreetProvider, at: tuple[float, float]) -> str:
    """Where ``at`` is, as a note of a place off the map says it (the provider's distance)."""
    metres = streets.far_points([at])[0]
    return f"({at[0]:.6f}, {at[1]:.6f}) is {metres:.0f} m from the nearest drivable street"


def _now_at(streets: StreetProvider, at: tuple[float, float]) -> str:
    """A place listed at ``at`` since the day was planned, as its note says it."""
    lonlat, _, far = _far(streets, at).partition(" is ")
    return f", now listed at {lonlat}, is {far}"


def _b3_alerted(
    day: DayPlan, progress: Progress, streets: StreetProvider, inventory: Inventory
) -> DayPlan:
    """``day`` rerouted for an alert on b3 when ``progress`` was reported, ``inventory`` as
    listed then."""
    new_day, _ = reroute_day(
        day,
        [progress],
        ["b3"],
        streets,
        now=day.at(progress.time_s),
        params=SolveParams(time_limit_s=1),
        inventory=inventory,
    )
    return new_day


def _truck(vehicle_id: str, depot_id: str) -> Vehicle:
    return dataclasses.replace(
        street_town(()).vehicles[0], vehicle_id=vehicle_id, depot_id=depot_id
    )


def test_a_plan_leaves_out_a_depot_and_a_site_no_street_reaches(
    town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """Depot d2 (truck t2's) and site s2 were entered off the map: the day is planned with
    t1 from d, unloading at s, and a note says what was left out and why. Before, the
    whole plan failed on the SnapError, every truck's day with it."""
    inventory, readings = town
    more = dataclasses.replace(
        inventory,
        depots=(*inventory.depots, Depot(depot_id="d2", lon=OFF_THE_MAP[0], lat=OFF_THE_MAP[1])),
        vehicles=(*inventory.vehicles, _truck("t2", "d2")),
        sites=(*inventory.sites, DisposalSite(site_id="s2", lon=FARTHER[0], lat=FARTHER[1])),
    )
    params = SolveParams(time_limit_s=1.0, seed=1)
    day = plan_day(more, readings, [], streets, plan_date=DAY, tz=TZ, params=params)
    assert day.violations == () and check(day.built.problem, day.plan) == []
    assert {"b1", "b2"} <= day.plan.served_refs
    assert [v.ref for v in day.built.problem.vehicles] == ["t1"]
    assert [s.ref for s in day.built.problem.sites] == ["s"]
    assert [d.depot_id for d in day.inventory.depots] == ["d"]
    assert {
        f"depot d2 {_far(streets, OFF_THE_MAP)} (limit 250 m): its trucks (t2) are not "
        "planned; fix its coordinates",
        f"disposal site s2 {_far(streets, FARTHER)} (limit 250 m): no truck unloads there; "
        "fix its coordinates",
    } <= set(day.plan.notes)


ON_A_D = grid(0, 0.5)  # on street A-D
SWAPPED = (ON_A_D[1], ON_A_D[0])  # the same, written (lat, lon): thousands of km away


def test_a_bin_and_a_site_with_lon_and_lat_swapped_are_told_so(
    town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """Bin b9 (nearly full) and site s2 written (lat, lon): each was left out with "fix its
    coordinates"; read the other way round each stands on street A-D, and its reason and
    note now say that its lon and lat look swapped (as ``binroute plan`` said of a file's)."""
    inventory, readings = town
    b9 = FillReading(bin_id="b9", at=readings[0].at, fill_fraction=0.95)
    more = dataclasses.replace(
        inventory,
        bins=(*inventory.bins, _bin("b9", SWAPPED)),
        sites=(*inventory.sites, DisposalSite(site_id="s2", lon=SWAPPED[0], lat=SWAPPED[1])),
    )
    params = SolveParams(time_limit_s=1.0, seed=1)
    day = plan_day(more, [*readings, b9], [], streets, plan_date=DAY, tz=TZ, params=params)
    assert day.violations == () and {"b1", "b2"} <= day.plan.served_refs
    swapped = (
        f"its lon and lat look swapped: ({ON_A_D[0]:.6f}, {ON_A_D[1]:.6f}) is 0 m from one; "
        "give lon first, then lat"
    )
    [lost] = [u for u in day.unserved if u.ref == "b9"]
    assert lost.kind is UnservedKind.UNREACHABLE
    assert (
        lost.reason == f"no truck can reach it: {_far(streets, SWAPPED)} (limit 250 m); {swapped}"
    )
    note = f"disposal site s2 {_far(streets, SWAPPED)} (limit 250 m): no truck unloads there; "
    assert note + swapped in day.plan.notes


def test_a_plan_whose_every_depot_no_street_reaches_stops_naming_it(
    town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """No truck left to plan: the job stops, naming the depot and the fix."""
    inventory, readings = town
    lost = Depot(depot_id="d", lon=OFF_THE_MAP[0], lat=OFF_THE_MAP[1])
    with pytest.raises(SnapError) as err:
        plan_day(
            dataclasses.replace(inventory, depots=(lost,)),
            readings,
            [],
            streets,
            plan_date=DAY,
            tz=TZ,
        )
    assert str(err.value) == (
        f"depot d {_far(streets, OFF_THE_MAP)} (limit 250 m); fix its coordinates"
    )


def test_a_day_being_driven_keeps_a_depot_and_a_site_moved_off_the_map_where_they_were(
    day: DayPlan, town: tuple[Inventory, list[FillReading]], streets: StreetProvider
) -> None:
    """t1 has emptied its first bin. Since, depot d and site s were listed off the map (a
    position corrected wrong), t2 joined the fleet at new depot d2, also off the map, and
    an alert names b3: t1 unloads at s and goes home to d where they were, t2 is not
    planned, b3 is rerouted, each with a note. Before, the reroute failed on the
    SnapError (the plan being driven stood; so would every alert's until fixed)."""
    inventory, _ = town
    (depot,) = inventory.depots
    (site,) = inventory.sites
    work = route_work(day, "t1")
    progress = done_through("t1", work, 0)
    now = dataclasses.replace(
        inventory,
        depots=(
            dataclasses.replace(depot, lon=OFF_THE_MAP[0], lat=OFF_THE_MAP[1]),
            Depot(depot_id="d2", lon=FARTHER[0], lat=FARTHER[1]),
        ),
        vehicles=(*inventory.vehicles, _truck("t2", "d2")),
        sites=(dataclasses.replace(site, lon=FARTHER[0], lat=FARTHER[1]),),
    )
    new_day = _b3_alerted(day, progress, streets, now)
    assert new_day.violations == () and check(new_day.built.problem, new_day.plan) == []
    assert "b3" in new_day.plan.served_refs
    assert [v.ref for v in new_day.built.problem.vehicles] == ["t1"]
    route = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1")
    points = new_day.built.problem.matrix.points
    (unload,) = [v for v in route.visits if v.kind is VisitKind.DISPOSAL]
    assert points[at_row(unload)] == (site.lon, site.lat)
    assert points[at_row(route.visits[-1])] == (depot.lon, depot.lat)
    assert {
        f"depot d{_now_at(streets, OFF_THE_MAP)} "
        "(limit 250 m): its trucks go home where it was; fix its coordinates",
        f"depot d2{_now_at(streets, FARTHER)} "
        "(limit 250 m): t2, not in the plan being driven, is not planned; fix its coordinates",
        f"disposal site s{_now_at(streets, FARTHER)} "
        "(limit 250 m): trucks unload where it was; fix its coordinates",
    } <= set(new_day.plan.notes), new_day.plan.notes
    t1 = dataclasses.replace(inventory.vehicles[0], depot_id="d2")
    moved = dataclasses.replace(now, vehicles=(t1, _truck("t2", "d2")))
    again = _b3_alerted(day, progress, streets, moved)
    assert again.violations == ()
    route = next(r for r in again.plan.routes if r.vehicle_ref == "t1")
    assert points[at_row(route.visits[-1])] == (depot.lon, depot.lat)
    assert (
        f"depot d2{_now_at(streets, FARTHER)} "
        "(limit 250 m): t1 keeps the depot planned; t2, not in the plan being driven, is not "
        "planned; fix its coordinates"
    ) in again.plan.notes, again.plan.notes
