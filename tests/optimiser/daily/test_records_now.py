"""Records changed during the day: bins moved or gone, sites and depots changed, shifts, on the
tiny city."""

from __future__ import annotations

import dataclasses
from datetime import time, timedelta

import pytest

from fleet.models import (
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    Inventory,
    TimeWindow,
)
from network.providers import HaversineProvider
from optimiser.check import check_reroute
from optimiser.daily import DayPlan, replan_day, reroute_day
from optimiser.params import SolveParams
from optimiser.plan import VisitKind, clock
from optimiser.reroute import Progress, plan_stands
from tests.optimiser.conftest import at_row, done_through, route_work
from tests.optimiser.daily.city import (
    bins_done_by,
    local_time,
    off_route_city,
    replanned_as,
    replanned_day,
    rerouted_with,
    two_trucks,
)


def _moved(inventory: Inventory, *bin_ids: str) -> Inventory:
    """``inventory`` with ``bin_ids`` 0.003 deg of longitude further east (positions fixed)."""
    return dataclasses.replace(
        inventory,
        bins=tuple(
            dataclasses.replace(b, lon=b.lon + 0.003) if b.bin_id in bin_ids else b
            for b in inventory.bins
        ),
    )


def _where(day: DayPlan, truck: str) -> dict[str, tuple[float, float]]:
    """Where ``truck`` empties each bin visit in ``day``'s plan: ref -> (lon, lat)."""
    (route,) = [r for r in day.plan.routes if r.vehicle_ref == truck]
    points = day.built.problem.matrix.points
    return {v.ref: points[at_row(v)] for v in route.visits if v.kind is VisitKind.BIN}


def test_a_bin_moved_since_the_plan_is_emptied_where_it_is_now(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1 emptied its first bin; then the city corrects the positions of that bin and of
    its last one: the reroute (an alert on b5) sends t1 to the last bin where it is now
    (before, to where it was when the day was planned), the visit done stays where it was
    made, and a note names the bin still to do."""
    inventory = tiny_city[0]
    (done,) = bins_done_by(day, 1)
    first, last = day.plan.routes[0].bin_refs[0], day.plan.routes[0].bin_refs[-1]
    before = _where(day, "t1")
    moved = _moved(inventory, first, last)
    new_day, _ = rerouted_with(day, done, "b5", moved)
    assert new_day.violations == ()
    after = _where(new_day, "t1")
    assert after[first] == before[first]  # done there
    assert after[last] == (before[last][0] + 0.003, before[last][1])
    note = f"bins moved since the day was planned are emptied where they are now: {last}"
    assert note in new_day.plan.notes
    again, _ = rerouted_with(new_day, done, "b4", moved)  # the move is known: no note
    assert not any(n.startswith("bins moved") for n in again.plan.notes)
    assert _where(again, "t1")[last] == after[last]


def test_a_replan_empties_a_bin_where_it_is_now(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """The same move, then a re-plan: the bins still to do are emptied where they are now."""
    inventory, readings, reports = tiny_city
    (done,) = bins_done_by(day, 1)
    last = day.plan.routes[0].bin_refs[-1]
    before = _where(day, "t1")
    new_day, _ = replan_day(
        day,
        [done],
        readings,
        reports,
        HaversineProvider(),
        now=day.at(done.time_s),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=_moved(inventory, last),
    )
    assert new_day.violations == ()
    after = {
        ref: at for r in new_day.plan.routes for ref, at in _where(new_day, r.vehicle_ref).items()
    }
    assert after[last] == (before[last][0] + 0.003, before[last][1])


def _unloads_after(day: DayPlan, truck: str, after_s: int) -> list[str]:
    """The sites ``truck`` unloads at from ``after_s`` on, in ``day``'s plan."""
    (route,) = [r for r in day.plan.routes if r.vehicle_ref == truck]
    return [v.ref for v in route.visits if v.kind is VisitKind.DISPOSAL and v.start_s >= after_s]


NEW_SITE = DisposalSite(site_id="s2", lon=24.95, lat=60.172)


def test_a_replan_unloads_only_at_the_sites_listed_now(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1 emptied two bins, unloading at s between, when site s closes (taken off the list)
    and s2 opens (added): the re-plan unloads at s2 only from then, keeps what was done (the
    unloading at s too) and says both."""
    assert _unloads_after(day, "t1", 0) and set(_unloads_after(day, "t1", 0)) == {"s"}
    swapped = dataclasses.replace(tiny_city[0], sites=(NEW_SITE,))
    (done,) = bins_done_by(day, 2)
    assert "s" in done.done
    new_day = replanned_as(day, done, tiny_city, swapped)
    assert new_day.violations == ()
    (route,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t1"]
    assert tuple(v.ref for v in route.visits[1 : 1 + len(done.done)]) == done.done
    unloads = _unloads_after(new_day, "t1", done.time_s)
    assert unloads and set(unloads) == {"s2"}
    assert any(n.startswith("disposal site s is no longer listed") for n in new_day.plan.notes)
    assert any(n.startswith("disposal site s2 was added") for n in new_day.plan.notes)
    assert {s.site_id for s in new_day.inventory.sites} == {"s", "s2"}


def test_a_replan_unloads_at_a_site_within_its_hours_listed_now(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """Site s now closes at 09:00 and s2 is open all day: no unloading at s after 09:00."""
    (site,) = tiny_city[0].sites
    early = dataclasses.replace(site, opening=TimeWindow(time(0), time(9)))
    both = dataclasses.replace(tiny_city[0], sites=(early, NEW_SITE))
    new_day, _, _ = replanned_day(day, tiny_city, local_time(8, 30), [], [], inventory=both)
    assert new_day.violations == ()
    assert "s" not in _unloads_after(new_day, "t1", 9 * 3600)


def test_a_reroute_unloads_only_at_the_sites_listed_now(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """The same site change, and an alert on b5 before any re-plan: the reroute unloads at
    s2 only from then."""
    swapped = dataclasses.replace(tiny_city[0], sites=(NEW_SITE,))
    (done,) = bins_done_by(day, 1)
    new_day, _ = rerouted_with(day, done, "b5", swapped)
    assert new_day.violations == ()
    assert "b5" in new_day.plan.served_refs
    unloads = _unloads_after(new_day, "t1", done.time_s)
    assert unloads and set(unloads) == {"s2"}
    assert any(n.startswith("disposal site s is no longer listed") for n in new_day.plan.notes)


def test_when_the_last_site_closes_the_trucks_come_back_loaded(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1 emptied two bins, unloading at s between, when s, the only site, closes: the
    re-plan keeps what was done, takes no bin the truck has no room for, and has it come
    back loaded (no site is open), breaking no rule and saying so. Ten minutes later s2
    opens: the next re-plan has the truck unload there before it comes back."""
    (done,) = bins_done_by(day, 2)
    closed = dataclasses.replace(tiny_city[0], sites=())
    now = day.at(done.time_s)
    new_day = replanned_as(day, done, tiny_city, closed, now)
    assert new_day.violations == ()
    assert _unloads_after(new_day, "t1", done.time_s) == []
    assert f"no disposal site is open from {now:%H:%M:%S}: the trucks come back loaded" in (
        new_day.plan.notes
    )
    assert all(u.reason.endswith("truck volume (t1)") for u in new_day.unserved)
    later = dataclasses.replace(done, time_s=done.time_s + 600)  # then s2 opens
    reopened = dataclasses.replace(tiny_city[0], sites=(NEW_SITE,))
    again = replanned_as(new_day, later, tiny_city, reopened)
    assert again.violations == () and not again.built.problem.vehicles[0].comes_back_loaded
    assert "s2" in _unloads_after(again, "t1", later.time_s)
    assert not any(n.startswith("no disposal site is open") for n in again.plan.notes)


def test_a_site_taken_off_the_list_then_listed_again_is_said_so(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1 unloaded at s, the only site, which is then taken off the list (deleted by
    mistake) and listed again ten minutes later as it was: the second re-plan unloads at s
    again, keeps the unloading done, and says s is listed again (before, it said "s's hours
    changed": its hours had been cut short when it was taken off); listed again with its
    hours over by then, it says that."""
    (done,) = bins_done_by(day, 2)
    assert "s" in done.done
    closed = dataclasses.replace(tiny_city[0], sites=())
    none = replanned_as(day, done, tiny_city, closed, day.at(done.time_s))
    [gone] = none.built.problem.sites
    assert gone.unlisted_s == done.time_s == gone.window_s[1]
    later = dataclasses.replace(done, time_s=done.time_s + 600)
    again = replanned_as(none, later, tiny_city, tiny_city[0])
    assert again.violations == ()
    assert "s" in _unloads_after(again, "t1", later.time_s)
    [s] = again.built.problem.sites
    assert s.unlisted_s is None and s.before is not None and s.before.unlisted_s is not None
    said = f"disposal site s is listed again: trucks may unload there from {clock(later.time_s)}"
    assert f"{said}; the unloadings done there before stand as made" in again.plan.notes
    assert not any("s's hours" in n for n in again.plan.notes)
    assert not any(n.startswith("no disposal site is open") for n in again.plan.notes)
    (site,) = tiny_city[0].sites  # listed again with hours over by then: said so too
    early = dataclasses.replace(site, opening=TimeWindow(time(0), time(6)))
    over = replanned_as(none, later, tiny_city, dataclasses.replace(tiny_city[0], sites=(early,)))
    assert over.violations == () and _unloads_after(over, "t1", later.time_s) == []
    said = "disposal site s is listed again, its hours over for today"
    assert f"{said}; the unloadings done there before stand as made" in over.plan.notes


def test_a_site_taken_off_the_list_keeps_an_unloading_done_there_timed_after_then(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1's unloading at s is reported done ten minutes before its planned start (the crew
    came early, or a tablet syncing late had it matched to an unloading planned later), and
    s is taken off the list then: the unloading done stands as made, judged by the record
    it was made under, and no truck unloads there any more. Before, the re-plan broke s's
    hours as closed then (the service's random days with reports during jobs, seed 30)."""
    work = route_work(day, "t1")
    at = next(i for i, v in enumerate(work) if v.kind is VisitKind.DISPOSAL)
    unload, done = work[at], done_through("t1", work, at)
    closed = dataclasses.replace(tiny_city[0], sites=())
    now_s = unload.start_s - 600
    new_day = replanned_as(day, done, tiny_city, closed, day.at(now_s))
    assert new_day.violations == ()
    (route,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t1"]
    assert unload in route.visits  # as made
    (s,) = new_day.built.problem.sites
    assert s.window_s[1] == now_s == s.unlisted_s
    assert s.at(unload.start_s).window_s[1] > unload.start_s
    assert _unloads_after(new_day, "t1", unload.end_s) == []


def test_a_site_changed_before_an_unloading_done_there_timed_after_then_judges_each_by_its_record(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2's unloading at s is reported done before its planned start (06:08:21), and s's
    unloading time is cut from 900 s to 300 s a minute before t1's unloading there, planned
    a second before t2's: the re-plan has t1 unload for 300 s, after the start of t2's
    unloading (judged by the record it was made under), and breaks no rule. Before, t1's
    unloading, planned under the new record (300 s), was judged by the old one (900 s) as
    it came before the last unloading done (the service's random days with reports during
    jobs, seed 423: a ``timing`` violation)."""
    inventory, day, _, _, _ = off_route_city(tiny_city)
    t1, t2 = route_work(day, "t1"), route_work(day, "t2")
    assert [v.kind for v in (t1[1], t2[1])] == [VisitKind.DISPOSAL] * 2
    assert t1[1].start_s < t2[1].start_s  # t2's, done, is timed after t1's, to come
    now_s = t1[1].start_s - 60
    quick = dataclasses.replace(
        inventory, sites=(dataclasses.replace(inventory.sites[0], unload_s=300),)
    )
    new_day, _ = replan_day(
        day,
        [done_through("t1", t1, 0), done_through("t2", t2, 1)],
        *tiny_city[1:],
        HaversineProvider(),
        now=day.at(now_s),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=quick,
    )
    assert new_day.violations == ()
    (s,) = new_day.built.problem.sites
    assert s.at(t2[1].start_s).unload_s == 900 and s.unload_s == 300
    unloads = [v for v in route_work(new_day, "t1") if v.kind is VisitKind.DISPOSAL]
    assert unloads and all(v.start_s > t2[1].start_s for v in unloads)
    assert all(v.end_s - v.start_s == 300 for v in unloads)
    said = f"unloadings done there before stand as made, new ones start from {clock(s.since_s)}"
    assert any(n.endswith(said) for n in new_day.plan.notes), new_day.plan.notes
    again, _ = replan_day(
        new_day,
        [done_through("t1", t1, 0), done_through("t2", t2, 1)],
        *tiny_city[1:],
        HaversineProvider(),
        now=day.at(now_s + 30),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=quick,
    )
    assert again.violations == ()
    assert not any(n.startswith("disposal site s's") for n in again.plan.notes)  # unchanged


def test_a_site_opened_after_the_last_closed_but_shut_by_now_leaves_the_trucks_loaded(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """s, the only site, closes after t1 emptied its first bin (no unloading done: the
    re-plan has no site left); then s2 is added, taking waste only until 06:00 (a site on
    a street trucks may drive early only), past by then: t1 cannot unload there and comes
    back loaded, saying so. Before, a re-plan from a plan with no site judged no truck
    loaded back, s2 or not: it sent t1 home loaded against the rule, unexplained (the
    service's random days on Heidelberg, seed 88, its reroute's plan standing so)."""
    (done,) = bins_done_by(day, 1)  # b0 emptied, no unloading yet
    closed = dataclasses.replace(tiny_city[0], sites=())
    none = replanned_as(day, done, tiny_city, closed, day.at(done.time_s))
    [s] = none.built.problem.sites  # closed from now: no unloading done there, kept shut
    assert s.window_s[1] == done.time_s and none.violations == ()
    later = dataclasses.replace(done, time_s=done.time_s + 600)
    early = dataclasses.replace(NEW_SITE, opening=TimeWindow(time(0), time(6)))
    shut = dataclasses.replace(tiny_city[0], sites=(early,))
    again = replanned_as(none, later, tiny_city, shut)
    assert again.violations == () and again.built.problem.vehicles[0].comes_back_loaded
    assert _unloads_after(again, "t1", later.time_s) == []
    last = clock(done.time_s)  # s, shut then, closed after s2 (06:00)
    assert f"no disposal site is open from {last}: the trucks come back loaded" in again.plan.notes


def test_every_plan_after_the_last_site_closed_says_the_trucks_come_back_loaded(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """s, the only site, closes before any truck unloaded there: the re-plan says the
    trucks come back loaded, and so does the reroute after it (an alert on b5, which t1,
    full, cannot take). Before, the re-plan dropped s: neither it nor any later plan of
    the day said why t1 goes home loaded."""
    (done,) = bins_done_by(day, 1)  # b0 emptied, no unloading yet
    closed = dataclasses.replace(tiny_city[0], sites=())
    none = replanned_as(day, done, tiny_city, closed, day.at(done.time_s))
    said = f"no disposal site is open from {clock(done.time_s)}: the trucks come back loaded"
    assert said in none.plan.notes
    alerted, _ = rerouted_with(none, done, "b5", closed)
    assert alerted.violations == ()
    why = {u.ref: u.reason for u in alerted.unserved}  # t1 full since b0, unloading nowhere
    assert why["b5"] == "could not fit in any route: truck volume (t1)"
    assert said in alerted.plan.notes
    assert alerted.built.problem.vehicles[0].comes_back_loaded
    assert _unloads_after(alerted, "t1", done.time_s) == []


def test_a_site_gone_before_it_opened_opens_no_more(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """s2, added to open at 12:00, is taken off the list at 06:13:27, before it opened: kept
    closed from then (so later plans know the day's sites), it is not opened at 12:00 for
    an instant: its hours end at 06:13:27, and no truck unloads there."""
    (done,) = bins_done_by(day, 1)
    noon = dataclasses.replace(NEW_SITE, opening=TimeWindow(time(12), time(23)))
    both = dataclasses.replace(tiny_city[0], sites=(*tiny_city[0].sites, noon))
    added = replanned_as(day, done, tiny_city, both, day.at(done.time_s))
    assert [s.ref for s in added.built.problem.sites] == ["s", "s2"]
    later = dataclasses.replace(done, time_s=done.time_s + 600)
    gone = replanned_as(added, later, tiny_city, tiny_city[0])
    assert gone.violations == ()
    [s2] = [s for s in gone.built.problem.sites if s.ref == "s2"]
    assert s2.window_s == (later.time_s, later.time_s)
    assert "s2" not in _unloads_after(gone, "t1", later.time_s)
    assert "disposal site s2 is no longer listed: no truck unloads there from 12:00" in (
        gone.plan.notes
    )


def test_a_reroute_drops_the_visits_of_bins_no_longer_listed(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1 emptied its first bin; another bin it had still to do is taken off the inventory
    (removed from the street), and an alert on b5 comes: the reroute drops that bin's visit
    (neither served nor unserved), keeps the one done, and says so."""
    (done,) = bins_done_by(day, 1)
    (route,) = day.plan.routes
    later = next(r for r in route.bin_refs if r not in done.done)
    inventory = tiny_city[0]
    removed = dataclasses.replace(
        inventory, bins=tuple(b for b in inventory.bins if b.bin_id != later)
    )
    new_day, changes = rerouted_with(day, done, "b5", removed)
    assert new_day.violations == ()
    assert later not in new_day.plan.served_refs | {u.ref for u in new_day.unserved}
    assert done.done[-1] in new_day.plan.served_refs and "b5" in new_day.plan.served_refs
    assert later in changes["t1"].removed
    assert f"bins no longer listed leave the plan: {later}" in new_day.plan.notes


def test_a_replan_drops_an_alert_visit_of_a_bin_no_longer_listed(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """An alert sent t1 to b5; b5 is then taken off the inventory (its readings with it) and
    the day re-planned: its visit leaves the plan (no longer an alert visit), and the notes
    say so."""
    (done,) = bins_done_by(day, 1)
    alerted, _ = rerouted_with(day, done, "b5", tiny_city[0])
    assert alerted.alerted == ("b5",)
    inventory = tiny_city[0]
    removed = dataclasses.replace(
        inventory, bins=tuple(b for b in inventory.bins if b.bin_id != "b5")
    )
    readings = [r for r in tiny_city[1] if r.bin_id != "b5"]  # gone with the bin
    new_day = replanned_as(alerted, done, (removed, readings, tiny_city[2]), removed)
    assert new_day.violations == ()
    assert "b5" not in new_day.plan.served_refs | {u.ref for u in new_day.unserved}
    assert new_day.alerted == ()
    assert "bins no longer listed leave the plan: b5" in new_day.plan.notes


def test_a_loaded_truck_that_cannot_reach_a_site_in_its_hours_comes_back_loaded(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t1 emptied its first bin, loaded, when site s is set to close a minute later (too
    soon to reach) and b4's sensor reads 95 %: the re-plan has t1 come back loaded (before,
    no plan went on and the plan being driven stood), breaks no rule and says so."""
    (done,) = bins_done_by(day, 1)
    assert done.volume_l > 0
    (site,) = tiny_city[0].sites
    now = day.at(done.time_s)
    closing = (now + timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    soon = dataclasses.replace(site, opening=TimeWindow(time(0), closing))
    inventory = dataclasses.replace(tiny_city[0], sites=(soon,))
    high = FillReading(bin_id="b4", at=now - timedelta(minutes=5), fill_fraction=0.95)
    city = (inventory, [*tiny_city[1], high], tiny_city[2])
    new_day = replanned_as(day, done, city, inventory)
    assert new_day.violations == ()
    assert not plan_stands(new_day.plan)
    (t1,) = new_day.built.problem.vehicles
    assert t1.comes_back_loaded
    assert "no disposal site open can be reached in its hours by t1: loaded back" in (
        new_day.plan.notes
    )
    assert _unloads_after(new_day, "t1", done.time_s) == []


def test_an_empty_truck_that_cannot_reach_a_site_takes_no_bin_rather_than_come_back_loaded(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 emptied its first bin (loaded) and t1 has not left its depot (empty) when the only
    site is set to close a minute later: t2 comes back loaded; t1 is not let collect bins
    it could not unload, so it takes none."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    (site,) = inventory.sites
    now = day.at(done.time_s)
    closing = (now + timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    soon = dataclasses.replace(
        inventory, sites=(dataclasses.replace(site, opening=TimeWindow(time(0), closing)),)
    )
    new_day = replanned_as(day, done, (soon, *tiny_city[1:]), soon)
    assert new_day.violations == ()
    flags = {v.ref: v.comes_back_loaded for v in new_day.built.problem.vehicles}
    assert flags == {"t1": False, "t2": True}
    (t1,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t1"]
    assert t1.bin_refs == ()


def _depot_changed(inventory: Inventory, how: str) -> Inventory:
    """``inventory`` with t1's depot d moved (its position corrected) or t1 listed at
    another depot, d2, east of it."""
    (depot,) = inventory.depots
    if how == "moved":
        return dataclasses.replace(inventory, depots=(dataclasses.replace(depot, lon=24.95),))
    other = Depot(depot_id="d2", lon=24.95, lat=60.165)
    vehicles = tuple(dataclasses.replace(v, depot_id="d2") for v in inventory.vehicles)
    return dataclasses.replace(inventory, depots=(depot, other), vehicles=vehicles)


def _end_rows(new_day: DayPlan, truck: str) -> tuple[int | None, int | None]:
    """Where ``truck``'s route in ``new_day`` starts and ends (matrix rows)."""
    route = next(r for r in new_day.plan.routes if r.vehicle_ref == truck)
    return route.visits[0].location, route.visits[-1].location


@pytest.mark.parametrize("how", ["moved", "changed"])
def test_a_truck_not_out_yet_leaves_from_its_depot_as_listed_now(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    how: str,
) -> None:
    """At 05:30, before t1 leaves, the city corrects its depot's position, or lists t1 at
    another depot: the re-plan has t1 leave from and come back to where its depot is now,
    with a note. Before, t1 left from the old place all day (seen only by the next day)."""
    inventory = _depot_changed(tiny_city[0], how)
    new_day, _ = replan_day(
        day,
        [],
        *tiny_city[1:],
        HaversineProvider(),
        now=day.at(5 * 3600 + 1800),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
    )
    assert new_day.violations == ()
    points = new_day.built.problem.matrix.points
    start, end = _end_rows(new_day, "t1")
    assert start == end and start is not None
    assert points[start] == (24.95, 60.165)
    (t1,) = new_day.built.problem.vehicles
    assert t1.start == start
    said = "depot d moved since the day was planned" if how == "moved" else "t1's depot changed"
    assert f"{said}" in " ".join(new_day.plan.notes)
    assert any(n.endswith("t1 leaves from there") for n in new_day.plan.notes)


@pytest.mark.parametrize("how", ["moved", "changed"])
def test_a_truck_out_goes_home_to_its_depot_as_listed_now(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    how: str,
) -> None:
    """t1 has emptied two bins when its depot's position is corrected, or it is listed at
    another depot: the re-plan keeps where it left from and what it did, and brings it home
    to where its depot is now, with a note; a second re-plan says nothing more of it.
    Before, it drove back to the old place."""
    (done,) = bins_done_by(day, 2)
    inventory = _depot_changed(tiny_city[0], how)
    new_day = replanned_as(day, done, tiny_city, inventory)
    assert new_day.violations == ()
    assert check_reroute(new_day.built.problem, day.plan, new_day.plan, [done]) == []
    start, end = _end_rows(new_day, "t1")
    assert start == _end_rows(day, "t1")[0]  # it left from where it was
    points = new_day.built.problem.matrix.points
    assert end is not None and points[end] == (24.95, 60.165)
    homing = [n for n in new_day.plan.notes if n.endswith("goes home there at the end of its day")]
    assert len(homing) == 1
    again = replanned_as(new_day, done, tiny_city, inventory, now=new_day.at(done.time_s + 60))
    assert again.violations == ()
    assert _end_rows(again, "t1")[1] == end
    assert not any("goes home there" in n for n in again.plan.notes)


def _back_home(day: DayPlan) -> Progress:
    """t1 has done all its work in ``day`` and is back at its depot, empty, as planned."""
    work = route_work(day, "t1")
    route = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    return dataclasses.replace(
        done_through("t1", work, len(work) - 1),
        location=int(route.visits[-1].location or 0),
        time_s=route.visits[-1].end_s,
        volume_l=0,
        weight_kg=0,
    )


def test_a_truck_back_at_its_moved_depot_stands_where_it_is_now(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t1 has done all its work and is back at its depot, whose position is then corrected,
    when b5 overflows: t1 sets out from where its depot is (the truck is there), not from
    the old position, and comes back there; the note says it is back there (not that it
    goes home)."""
    work = route_work(day, "t1")
    home = _back_home(day)
    inventory = _depot_changed(tiny_city[0], "moved")
    new_day, _ = reroute_day(
        day,
        [home],
        ["b5"],
        HaversineProvider(),
        now=day.at(home.time_s + 60),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
    )
    assert new_day.violations == ()
    assert "b5#2" in new_day.plan.served_refs or "b5" in new_day.plan.served_refs
    after = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1").visits
    points = new_day.built.problem.matrix.points
    last_done = max(i for i, v in enumerate(after) if v.ref == work[-1].ref)
    moves = [v for v in after[last_done + 1 :] if v.location is not None]
    assert points[int(moves[0].location or 0)] != (24.93, 60.165)  # not from the old place
    assert points[int(after[-1].location or 0)] == (24.95, 60.165)
    said = "depot d moved since the day was planned: t1, back at it, ends its day there"
    assert said in new_day.plan.notes


def test_a_truck_in_the_workshop_at_the_depot_it_left_stands_there(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t1, back at depot d with all its work done, goes into the workshop there (until
    further notice), and is listed at d2 meanwhile: the re-plan has it stand at d, and
    says so by the depot's name. Before, the notes had it both go home to d2 and stand
    where it was last reported, naming its last unloading."""
    home = _back_home(day)
    down = Downtime(vehicle_id="t1", start=day.at(home.time_s + 60), reason="brake check")
    inventory = dataclasses.replace(_depot_changed(tiny_city[0], "changed"), downtimes=(down,))
    new_day = replanned_as(day, home, tiny_city, inventory, now=day.at(home.time_s + 120))
    assert new_day.violations == ()
    points = new_day.built.problem.matrix.points
    assert points[_end_rows(new_day, "t1")[1] or 0] == (24.93, 60.165)  # d, not d2
    assert "t1 stands where it was last reported (depot d): its route ends there, empty" in (
        new_day.plan.notes
    )
    assert not any("goes home there" in n for n in new_day.plan.notes)


@pytest.mark.parametrize("out", [False, True], ids=["not out", "out"])
def test_a_shift_start_changed_counts_for_a_truck_not_out_yet(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    out: bool,
) -> None:
    """t1's shift is changed to start at 08:00 (its crew comes later today): re-planned at
    05:30, before it leaves, it leaves at 08:00; re-planned after its first two bins, its
    day keeps the 06:00 start it left by. Before, a truck not out left at 06:00."""
    inventory = tiny_city[0]
    (truck,) = inventory.vehicles
    later = dataclasses.replace(truck, shift=TimeWindow(time(8), time(14)))
    changed = dataclasses.replace(inventory, vehicles=(later,))
    progress = bins_done_by(day, 2) if out else []
    new_day, _ = replan_day(
        day,
        progress,
        *tiny_city[1:],
        HaversineProvider(),
        now=day.at(progress[0].time_s if out else 5 * 3600 + 1800),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=changed,
    )
    assert new_day.violations == ()
    (t1,) = new_day.built.problem.vehicles
    route = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1")
    assert t1.shift_s[0] == (6 if out else 8) * 3600
    assert route.visits[0].start_s == (6 if out else 8) * 3600
    assert check_reroute(new_day.built.problem, day.plan, new_day.plan, progress) == []
