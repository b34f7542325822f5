"""Bins a truck emptied off its route, in reroutes, re-plans and plans that stand, on the tiny
city."""

from __future__ import annotations

import dataclasses
import importlib
from datetime import time, timedelta

import pytest

from fleet.models import Action, CitizenReport, FillReading, Inventory, TimeWindow
from network.providers import HaversineProvider
from optimiser.daily import DayPlan, OffRoute, found_loads, replan_day, reroute_day
from optimiser.daily.off_route import restated
from optimiser.params import SolveParams
from optimiser.plan import VisitKind
from optimiser.problem import bin_of
from optimiser.reroute import Progress, plan_stands
from tests.optimiser.conftest import done_through, route_work
from tests.optimiser.daily.city import (
    TZ,
    bins_done_by,
    no_plan_goes_on,
    off_route_city,
    plan_tiny_day,
)


def _rerouted_off_route(
    city: tuple[Inventory, list[FillReading], list[CitizenReport]], *, both: bool = False
) -> tuple[DayPlan, Progress, str, str]:
    """The day of :func:`off_route_city` rerouted by an alert on b5 five minutes after t2's
    first bin, t2 having emptied the bin t1 was to empty (found 80 % full): the new day,
    t2's progress, that bin's ref and the truck that planned it. ``both``: t1 has emptied
    its first bin too."""
    inventory, day, done, extra, planned_by = off_route_city(city)
    others = bins_done_by(day, 1, planned_by) if both else []
    new_day, _ = reroute_day(
        day,
        [done, *others],
        ["b5"],
        HaversineProvider(),
        now=day.at(done.time_s + 300),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
        off_route={"t2": [(extra, 0.8)]},
    )
    return new_day, done, extra, planned_by


def test_a_bin_emptied_off_its_route_leaves_the_other_trucks_plan_and_loads_the_truck(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2, after its first bin, also empties a bin t1 was to empty (off t2's route, found
    80 % full); an alert on b5 comes then: the reroute no longer sends t1 there, t2 carries
    that bin's waste from then on, and a note says so."""
    new_day, done, extra, planned_by = _rerouted_off_route(tiny_city)
    assert new_day.violations == ()
    assert extra not in new_day.plan.served_refs
    assert extra not in {u.ref for u in new_day.unserved}
    (t2,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    cut = next(i for i, v in enumerate(t2.visits) if v.ref == done.done[-1])
    assert t2.visits[cut + 1].kind is VisitKind.WAYPOINT  # its loads as measured
    assert t2.visits[cut + 1].volume_l == min(1000, done.volume_l + round(0.8 * 660))
    note = f"t2 emptied {extra} off its planned route: it carries that waste"
    assert any(n.startswith(note) and planned_by in n for n in new_day.plan.notes)


def test_a_bin_emptied_off_route_counts_once_after_the_truck_goes_on_from_a_reroute(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """Trucks of 2500 l: t1, after its first bin, empties the bin t2 was to empty (found
    80 % full, 528 l). The reroute restates t1's load at a waypoint, 528 l more, and says
    so (``off_route_carried``). t1 then empties its next bin, and the day is rerouted
    again: t1 carries what the route had it carry after that bin, the bin emptied off its
    route counted once (before, the load after its next bin counted it, and the reroute
    added it again: 528 l more, at a waypoint)."""
    inventory, readings, reports = tiny_city
    t1 = dataclasses.replace(inventory.vehicles[0], max_stops=2, capacity_l=2500, capacity_kg=2500)
    inventory = dataclasses.replace(
        inventory, vehicles=(t1, dataclasses.replace(t1, vehicle_id="t2"))
    )
    day = plan_tiny_day(inventory, readings, reports)
    (done,) = bins_done_by(day, 1, "t1")
    extra = route_work(day, "t2")[0].ref
    params = SolveParams(time_limit_s=1, seed=1)
    off = {"t1": [(extra, 0.8)]}
    first, _ = reroute_day(
        day, [done], [], HaversineProvider(), now=day.at(done.time_s + 300), params=params,
        inventory=inventory, off_route=off,
    )  # fmt: skip
    assert first.off_route_carried == (("t1", 1, ((extra, 1),)),)
    (route,) = [r for r in first.plan.routes if r.vehicle_ref == "t1"]
    work = route_work(first, "t1")
    assert [v.kind for v in work[:2]] == [VisitKind.BIN, VisitKind.BIN]
    waypoint = next(v for v in route.visits if v.kind is VisitKind.WAYPOINT)
    assert waypoint.volume_l == work[0].volume_l + 528
    on = done_through("t1", work, 1)
    again, _ = reroute_day(
        first, [on], [], HaversineProvider(), now=first.at(on.time_s + 60), params=params,
        inventory=inventory, off_route=off,
    )  # fmt: skip
    assert again.violations == ()
    (route,) = [r for r in again.plan.routes if r.vehicle_ref == "t1"]
    at = next(i for i, v in enumerate(route.visits) if v.ref == work[1].ref)
    then = route.visits[at + 1]  # a waypoint, when it restates other loads
    assert then.kind is not VisitKind.WAYPOINT or then.volume_l == work[1].volume_l, then
    note = f"t1 emptied {extra} off its planned route: it carries that waste (528 l"
    assert any(n.startswith(note) for n in again.plan.notes), again.plan.notes
    assert restated(again, "t1", 3) == {(extra, 1)}  # its loads after its next visit count it


def test_a_bin_emptied_off_route_leaves_the_other_trucks_route_of_the_plan_that_stands(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """t2 empties the bin t1 was to empty next, off t2's route (t1 has emptied its first
    bin), and the reroute finds no plan from the trucks' positions: the plan being driven
    stands, but t1 no longer goes to that bin (before, it still drove there to an empty
    bin): its rest of the day is its other stops in their order (its unloading), timed
    again, and a note says so. The bin is not unserved (a truck emptied it) and the day
    breaks no rule."""
    no_plan_goes_on(monkeypatch)
    _, before, _, _, _ = off_route_city(tiny_city)
    new_day, _, extra, planned_by = _rerouted_off_route(tiny_city, both=True)
    assert plan_stands(new_day.plan) and new_day.violations == ()
    (old,) = [r for r in before.plan.routes if r.vehicle_ref == planned_by]
    (route,) = [r for r in new_day.plan.routes if r.vehicle_ref == planned_by]
    assert extra in old.bin_refs and extra not in route.bin_refs
    work = (VisitKind.BIN, VisitKind.DISPOSAL)
    assert [v.ref for v in route.visits if v.kind in work] == [
        v.ref for v in old.visits if v.kind in work and v.ref != extra
    ]
    assert extra not in {u.ref for u in new_day.unserved}
    note = f"{planned_by} no longer goes to {extra}, which the day no longer has"
    assert any(n.startswith(note) for n in new_day.plan.notes), new_day.plan.notes


def test_a_bin_emptied_off_route_stays_a_stop_of_the_plan_that_stands_as_it_is(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As above, but t1's route without that bin breaks a rule too (the standing plan's
    checker made to say so): the plan being driven stands as it is, t1 still going there,
    with a note. The day's problem keeps that bin's stop, so t1's report of it with the
    fill found counts its load. Before, the stop was gone while the route still visited
    it: every later reroute and re-plan of the day failed on a KeyError (seed 1338 of a
    service fuzz)."""
    no_plan_goes_on(monkeypatch)
    stands = importlib.import_module("optimiser.reroute_stands")
    check_route = stands.check_route

    def breaks(problem, v, route):
        return ["a rule broken"] if v.ref == "t1" else check_route(problem, v, route)

    monkeypatch.setattr(stands, "check_route", breaks)
    new_day, _, extra, planned_by = _rerouted_off_route(tiny_city, both=True)
    assert planned_by == "t1"
    assert plan_stands(new_day.plan) and new_day.violations == ()
    stops = new_day.built.problem.stops_by_ref()
    visited = {v.ref for r in new_day.plan.routes for v in r.visits if v.kind is VisitKind.BIN}
    assert extra in visited and visited <= set(stops)
    note = f"t1 still goes to {extra}, which the day no longer has: the plan being driven"
    assert any(n.startswith(note) for n in new_day.plan.notes), new_day.plan.notes
    (route,) = [r for r in new_day.plan.routes if r.vehicle_ref == planned_by]
    upto = next(i for i, v in enumerate(route.visits) if v.ref == extra)
    here = route.visits[upto]
    litres, _, daily_l, _ = found_loads(new_day, route.visits[: upto + 1], {extra: 0.2})
    assert daily_l == here.daily_l - stops[extra].volume_l + round(0.2 * 660)
    assert litres == here.volume_l - stops[extra].volume_l + round(0.2 * 660)


def test_a_bin_emptied_off_its_route_counts_collected_in_the_reroutes_kpis(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 empties a bin t1 was to empty, then an alert on b5 reroutes the day: the reroute
    takes t1's visit of it out, and its KPIs still count the bin collected, in
    ``bins_collected`` (a stop more than the routes serve) and in its must/may count (before,
    the bin emptied left both, as if no truck had emptied it)."""
    new_day, _, extra, _ = _rerouted_off_route(tiny_city)
    assert extra not in new_day.plan.served_refs and new_day.unserved == ()
    kpis = new_day.kpis
    assert kpis["bins_collected"] == len(new_day.plan.served_refs) + 1
    emptied = {bin_of(r) for r in new_day.plan.served_refs} | {bin_of(extra)}
    action = {d.bin_id: d.action for d in new_day.decisions}
    chosen = (Action.MUST, Action.MAY)
    assert action[bin_of(extra)] in chosen
    assert kpis["must_collected"] + kpis["may_collected"] == sum(
        action.get(b) in chosen for b in emptied
    )


def test_a_reroutes_kg_count_a_weighed_bin_at_the_weight_lifted(day: DayPlan) -> None:
    """t1's first bin was found half full (330 l, 33 kg at residual's 0.10 kg/l); its lift
    scale took 200 kg: the day's kg count 167 more with the weight than without."""
    (done,) = bins_done_by(day, 1)
    ref = done.done[-1]

    def kg(lifted: dict[str, float]) -> float:
        new_day, _ = reroute_day(
            day,
            [done],
            ["b5"],
            HaversineProvider(),
            now=day.at(done.time_s),
            params=SolveParams(time_limit_s=1, seed=1),
            found={ref: 0.5},
            lifted=lifted,
        )
        assert new_day.violations == () and ref in new_day.plan.served_refs
        return float(new_day.kpis["kg"])

    assert kg({ref: 200.0}) - kg({}) == pytest.approx(200 - 33)


def test_a_bin_emptied_off_route_and_weighed_loads_the_truck_with_the_weight_lifted(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """As above, t2's lift scale weighing 150 kg out of the bin found 80 % full (528 l,
    53 kg at residual's 0.10 kg/l): the truck carries 150 kg of it, not 53."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    new_day = _rerouted_off(day, done, "b5", 5, inventory, {"t2": [(extra, 0.8, True, 150.0)]})
    (t2,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    cut = next(i for i, v in enumerate(t2.visits) if v.ref == done.done[-1])
    waypoint = t2.visits[cut + 1]
    assert waypoint.kind is VisitKind.WAYPOINT
    assert waypoint.volume_l == min(1000, done.volume_l + 528)  # the truck's 1000 l: full
    assert waypoint.weight_kg == done.weight_kg + 150


def _rerouted_off(
    base: DayPlan,
    done: Progress,
    alert: str,
    minutes: int,
    inventory: Inventory,
    off: OffRoute,
) -> DayPlan:
    """``base`` rerouted ``minutes`` after ``done`` for an alert on ``alert``, with the bins
    emptied off route ``off``; checked."""
    new_day, _ = reroute_day(
        base,
        [done],
        [alert],
        HaversineProvider(),
        now=base.at(done.time_s + 60 * minutes),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
        off_route=off,
    )
    assert new_day.violations == ()
    return new_day


def test_an_alert_after_a_bin_was_emptied_off_route_keeps_its_visit_in_later_reroutes(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 empties t1's bin off its route; the reroute takes t1's visit out. Then the bin
    overflows (an alert): the next reroute sends a truck. A later reroute, for another
    alert, keeps that visit: the emptying off route was before the alert, and is on board
    still (counted), but it no longer takes a visit out."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    off = {"t2": [(extra, None)]}
    first = _rerouted_off(day, done, "b5", 5, inventory, off)
    assert extra not in first.plan.served_refs
    second = _rerouted_off(first, done, extra, 10, inventory, off)
    assert extra in second.plan.served_refs
    third = _rerouted_off(second, done, "b4", 15, inventory, off)
    assert extra in third.plan.served_refs
    assert not any(f"visit of {extra} leaves the plan" in n for n in third.plan.notes)
    assert any(n.startswith(f"t2 emptied {extra} off its planned route") for n in third.plan.notes)


def test_a_bin_emptied_off_route_and_unloaded_since_still_leaves_the_other_trucks_plan(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 empties t1's bin off its route, then unloads, before any reroute: the next
    reroute no longer sends t1 there (before, the emptying was forgotten once unloaded and
    t1 went to a bin already emptied), and t2 does not carry that waste."""
    inventory, day, done, extra, planned_by = off_route_city(tiny_city)
    unloaded = _rerouted_off(day, done, "b5", 5, inventory, {"t2": [(extra, None, False)]})
    assert extra not in unloaded.plan.served_refs
    note = f"t2 emptied {extra} off its planned route and unloaded since; {planned_by}'s visit"
    assert any(n.startswith(note) for n in unloaded.plan.notes), unloaded.plan.notes
    assert unloaded.off_route_seen == (("t2", extra),)
    loaded = _rerouted_off(day, done, "b5", 5, inventory, {"t2": [(extra, None, True)]})
    (t2,) = [r for r in unloaded.plan.routes if r.vehicle_ref == "t2"]
    (t2_loaded,) = [r for r in loaded.plan.routes if r.vehicle_ref == "t2"]
    cut = next(i for i, v in enumerate(t2.visits) if v.ref == done.done[-1])
    assert t2.visits[cut + 1].volume_l < t2_loaded.visits[cut + 1].volume_l


def test_a_truck_emptying_the_same_bin_off_route_twice_takes_its_alert_visit_out(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 empties t1's bin off its route (the reroute takes t1's visit out), unloads; the
    bin overflows (the reroute sends a truck); t2 empties it off route again: the next
    reroute takes that alert visit out too (before, the second emptying passed for the
    first, known already, and a truck went to a bin just emptied)."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    first = _rerouted_off(day, done, "b5", 5, inventory, {"t2": [(extra, None, True)]})
    assert extra not in first.plan.served_refs
    gone = [(extra, None, False)]  # unloaded since
    second = _rerouted_off(first, done, extra, 10, inventory, {"t2": gone})
    assert extra in second.plan.served_refs  # the alert's visit
    again = {"t2": [*gone, (extra, None, True)]}
    third = _rerouted_off(second, done, "b4", 15, inventory, again)
    assert extra not in third.plan.served_refs
    assert any(f"visit of {extra} leaves the plan" in n for n in third.plan.notes)
    assert third.off_route_seen == (("t2", extra), ("t2", extra))


def test_a_plan_stored_before_emptyings_unloaded_since_counted_takes_none_out_for_them(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """A plan stored by an earlier version (``off_route_all`` False: its reroutes listed
    only the emptyings off route still on board) keeps the visits of bins emptied off route
    and unloaded since: it cannot tell whether it took them out already. Its reroute's plan
    counts them all from then on."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    assert day.off_route_all
    earlier = dataclasses.replace(day, off_route_all=False)
    new_day = _rerouted_off(earlier, done, "b5", 5, inventory, {"t2": [(extra, None, False)]})
    assert extra in new_day.plan.served_refs
    assert not any("leaves the plan" in n for n in new_day.plan.notes)
    assert new_day.off_route_all and new_day.off_route_seen == (("t2", extra),)


def test_a_truck_that_empties_a_bin_off_route_when_no_site_can_take_it_comes_back_loaded(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 is empty (it just unloaded) and empties t1's bin off its route; the only site
    closes a minute later, too soon for t2 to get there: t2 comes back loaded, with a note,
    rather than the day having no plan (found by the service fuzz, seed 2017)."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    now = day.at(done.time_s + 300)
    closing = (now + timedelta(minutes=1)).astimezone(TZ).time()
    (site,) = inventory.sites
    shut = dataclasses.replace(site, opening=TimeWindow(time(0), closing))
    inventory = dataclasses.replace(inventory, sites=(shut,))
    empty = dataclasses.replace(done, volume_l=0, weight_kg=0, time_s=done.time_s + 300)
    new_day, _ = reroute_day(
        day,
        [empty],
        ["b5"],
        HaversineProvider(),
        now=now,
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
        off_route={"t2": [(extra, None)]},
    )
    assert not plan_stands(new_day.plan)
    assert new_day.violations == ()
    assert any("t2: loaded back" in n or "come back loaded" in n for n in new_day.plan.notes)
    (t2,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert t2.visits[-1].volume_l > 0  # home with the bin's waste


@pytest.mark.parametrize("how", ["reroute", "replan"])
def test_a_truck_with_only_a_bin_off_route_after_its_shift_with_no_site_ends_its_day_now(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]], day: DayPlan, how: str
) -> None:
    """t1 reported nothing along its route, only b3 emptied off it; at 14:10, past its
    14:00 shift end, the last site is gone. It is taken at its depot with b3's waste, which
    no site takes: its day ends now, loaded, noted as past its shift end. Its route ended
    at 14:00 before, ten minutes before its own start and position (found by the service
    fuzz, Helsinki's streets, seed 421: a re-plan's "overlap" and "travel")."""
    inventory, readings, reports = tiny_city
    now_s = 14 * 3600 + 600
    now, params = day.at(now_s), SolveParams(time_limit_s=1, seed=1)
    gone = dataclasses.replace(inventory, sites=())
    off: OffRoute = {"t1": [("b3", None)]}
    if how == "reroute":
        new_day, _ = reroute_day(
            day, [], [], HaversineProvider(), now=now, params=params, inventory=gone, off_route=off
        )
    else:
        new_day, _ = replan_day(
            day, [], readings, reports, HaversineProvider(),
            now=now, params=params, inventory=gone, off_route=off,
        )  # fmt: skip
    (t1,) = new_day.plan.routes
    times = [t for v in t1.visits for t in (v.arrival_s, v.start_s, v.end_s)]
    assert times == sorted(times) and t1.visits[-1].arrival_s == now_s
    assert t1.visits[-1].volume_l > 0  # home with b3's waste
    assert [v.code for v in new_day.violations] == ["shift"]
    assert any(
        "t1 cannot be back at its depot by its shift end (14:00)" in n for n in new_day.plan.notes
    )


def test_a_replan_counts_the_waste_of_a_bin_emptied_off_the_trucks_route(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """The same off-route emptying, then a re-plan: t2 carries that bin's waste (it unloads
    before its next bin when that would not fit), no rule is broken, and a note says so."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    new_day, _ = replan_day(
        day,
        [done],
        *tiny_city[1:],
        HaversineProvider(),
        now=day.at(done.time_s + 300),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
        off_route={"t2": [(extra, None)]},
    )
    assert new_day.violations == ()
    (t2,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    cut = next(i for i, v in enumerate(t2.visits) if v.ref == done.done[-1])
    assert t2.visits[cut + 1].kind is VisitKind.WAYPOINT
    assert t2.visits[cut + 1].volume_l > done.volume_l
    note = f"t2 emptied {extra} off its planned route: it carries that waste"
    assert any(n.startswith(note) for n in new_day.plan.notes)


def test_a_bin_emptied_off_route_then_deleted_still_loads_the_truck(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """The re-plan above counted t2 carrying the bin's waste; then the city deletes the
    bin, and the day is planned again: t2 still carries that waste, as counted, and no
    rule is broken. Before, a bin no longer listed counted nothing on board (the note said
    0 l), and a truck done with its work, its route kept, went home loaded against the
    checker (service fuzz, seed 1298)."""
    inventory, day, done, extra, _ = off_route_city(tiny_city)
    now = day.at(done.time_s + 300)
    params = SolveParams(time_limit_s=1, seed=1)
    off = {"t2": [(extra, None)]}
    first, _ = replan_day(
        day, [done], *tiny_city[1:], HaversineProvider(), now=now, params=params,
        inventory=inventory, off_route=off,
    )  # fmt: skip
    (counted,) = [(t, b, litres) for t, b, _, litres, _ in first.off_route_loads]
    assert counted[:2] == ("t2", extra) and counted[2] > 0
    gone = dataclasses.replace(
        inventory, bins=tuple(b for b in inventory.bins if b.bin_id != extra)
    )
    readings = [r for r in tiny_city[1] if r.bin_id != extra]
    reports = [r for r in tiny_city[2] if r.bin_id != extra]
    again, _ = replan_day(
        first, [done], readings, reports, HaversineProvider(), now=now + timedelta(minutes=5),
        params=params, inventory=gone, off_route=off,
    )  # fmt: skip
    assert again.violations == ()
    note = f"t2 emptied {extra} off its planned route: it carries that waste ({counted[2]} l"
    assert any(n.startswith(note) for n in again.plan.notes), again.plan.notes
