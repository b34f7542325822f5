"""build_problem: the unit conversions and the point order."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest

from fleet.models import (
    Action,
    Bin,
    BinDecision,
    Depot,
    DisposalSite,
    Downtime,
    Inventory,
    TimeWindow,
    Vehicle,
)
from network.matrix import TravelMatrix
from optimiser.build import (
    build_problem,
    clock_to_s,
    duty_pieces,
    found_load,
    instant_to_s,
    on_duty,
    round_up,
    to_cents,
)
from optimiser.errors import InvalidProblemError
from optimiser.problem import VehicleSpec, bin_of

DAY = date(2026, 6, 1)
TZ = "Europe/Lisbon"


class RecordingProvider:
    """A matrix provider that records its calls (1 km and 100 s between any two points)."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[float, float]]] = []

    def __call__(self, points):
        self.calls.append(list(points))
        n = len(points)
        off = 1 - np.eye(n, dtype=np.int64)
        return TravelMatrix(duration_s=100 * off, distance_m=1000 * off, points=tuple(points))


@pytest.fixture
def inventory() -> Inventory:
    return Inventory(
        bins=(
            Bin(bin_id="must", lon=8.61, lat=41.15, capacity_l=240),
            Bin(
                bin_id="may",
                lon=8.62,
                lat=41.16,
                capacity_l=240,
                stream="glass",
                access_window=TimeWindow(time(8, 30), time(11, 0)),
            ),
            Bin(bin_id="skip", lon=8.63, lat=41.17, capacity_l=240),
        ),
        depots=(Depot(depot_id="d1", lon=8.60, lat=41.14),),
        vehicles=(
            Vehicle(
                vehicle_id="v1",
                depot_id="d1",
                capacity_l=16000,
                capacity_kg=8000,
                break_s=1800,
                break_window=TimeWindow(time(10, 0), time(11, 0)),
                cost_per_km=1.25,
                cost_per_hour=32.5,
                fixed_cost=80.0,
                max_daily_kg=12000,
            ),
        ),
        sites=(
            DisposalSite(
                site_id="s1",
                lon=8.65,
                lat=41.2,
                opening=TimeWindow(time(7, 0), time(18, 0)),
                unload_s=600,
            ),
        ),
    )


@pytest.fixture
def decisions() -> list[BinDecision]:
    return [
        BinDecision(
            bin_id="must",
            action=Action.MUST,
            expected_fill_fraction=0.9,
            expected_volume_l=216.2,
            expected_weight_kg=21.01,
        ),
        BinDecision(
            bin_id="may",
            action=Action.MAY,
            expected_fill_fraction=0.5,
            expected_volume_l=120.0,
            expected_weight_kg=36.0,
            prize=2.344,
        ),
        BinDecision(
            bin_id="skip",
            action=Action.SKIP,
            expected_fill_fraction=0.1,
            expected_volume_l=24.0,
            expected_weight_kg=2.4,
        ),
    ]


def test_points_are_depots_sites_then_bins_and_provider_is_called_once(inventory, decisions):
    provider = RecordingProvider()
    built = build_problem(
        inventory, decisions, provider, plan_date=date(2026, 6, 1), tz="Europe/Lisbon"
    )
    assert len(provider.calls) == 1
    assert provider.calls[0] == [(8.60, 41.14), (8.65, 41.2), (8.61, 41.15), (8.62, 41.16)]
    assert built.point_refs == ("d1", "s1", "must", "may")
    assert built.point_kinds == ("depot", "site", "bin", "bin")
    assert [d.bin_id for d in built.decisions] == ["must", "may"]
    assert [s.location for s in built.problem.stops] == [2, 3]


def test_units_are_converted_once(inventory, decisions):
    built = build_problem(
        inventory, decisions, RecordingProvider(), plan_date=date(2026, 6, 1), tz="Europe/Lisbon"
    )
    must, may = built.problem.stops
    assert (must.volume_l, must.weight_kg, must.required, must.prize) == (217, 22, True, 0)
    assert (may.volume_l, may.weight_kg, may.required, may.prize) == (120, 36, False, 234)
    assert may.window_s == (8 * 3600 + 1800, 11 * 3600) and must.window_s is None
    assert may.stream == "glass"
    (v,) = built.problem.vehicles
    assert (v.start, v.end, v.shift_s) == (0, 0, (6 * 3600, 14 * 3600))
    assert v.break_window_s == (10 * 3600, 11 * 3600) and v.break_s == 1800
    assert (v.cost_per_km, v.cost_per_hour, v.fixed_cost, v.max_daily_kg) == (
        125,
        3250,
        8000,
        12000,
    )
    (s,) = built.problem.sites
    assert (s.location, s.window_s, s.unload_s) == (1, (7 * 3600, 18 * 3600), 600)


def test_clock_counts_elapsed_seconds_on_a_dst_day():
    """On 2026-03-29 Lisbon jumps from 01:00 to 02:00: 06:00 is 5 h after midnight."""
    assert (
        clock_to_s(time(6, 0), plan_date=date(2026, 3, 29), tz=_zone("Europe/Lisbon")) == 5 * 3600
    )
    assert (
        clock_to_s(time(6, 0), plan_date=date(2026, 3, 30), tz=_zone("Europe/Lisbon")) == 6 * 3600
    )


def test_clock_times_the_clocks_skip_are_the_instant_they_skip_at() -> None:
    """Helsinki jumps from 03:00 to 04:00 on 2026-03-29: 03:30 is not a time that day; it
    counts as 04:00 (3 h after midnight), so a window 03:30-04:15 stays in order (it was
    04:30-04:15, and the day's plan failed to build). The repeated hour of 2026-10-25
    reads as its first time, as before."""
    helsinki = _zone("Europe/Helsinki")
    spring, fall = date(2026, 3, 29), date(2026, 10, 25)
    got = [
        clock_to_s(time(h, m), plan_date=spring, tz=helsinki)
        for h, m in ((2, 59), (3, 30), (4, 0), (4, 15))
    ]
    assert got == [10_740, 10_800, 10_800, 11_700]
    assert clock_to_s(time(3, 30), plan_date=fall, tz=helsinki) == 3.5 * 3600
    assert clock_to_s(time(4, 30), plan_date=fall, tz=helsinki) == 5.5 * 3600


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@pytest.mark.parametrize(("value", "expected"), [(0.0, 0), (1.0, 1), (1.0000000001, 1), (1.2, 2)])
def test_round_up(value, expected):
    assert round_up(value) == expected


def test_to_cents():
    assert to_cents(1.25) == 125 and to_cents(0.0) == 0


def test_decision_for_unknown_bin_is_rejected(inventory, decisions):
    bad = [
        *decisions,
        BinDecision(
            bin_id="ghost",
            action=Action.MUST,
            expected_fill_fraction=1,
            expected_volume_l=1,
            expected_weight_kg=1,
        ),
    ]
    with pytest.raises(InvalidProblemError, match="ghost"):
        build_problem(inventory, bad, RecordingProvider(), plan_date=date(2026, 6, 1), tz="UTC")


def test_unservable_stream_stays_a_stop_and_is_reported_by_solve(inventory, decisions):
    from optimiser.check import check
    from optimiser.params import SolveParams
    from optimiser.solve import solve

    built = build_problem(
        inventory, decisions, RecordingProvider(), plan_date=date(2026, 6, 1), tz="UTC"
    )
    assert "may" in {s.ref for s in built.problem.stops}
    plan = solve(built.problem, SolveParams(time_limit_s=0.3))
    assert check(built.problem, plan) == []
    reasons = {u.ref: u.reason for u in plan.unserved}
    assert "glass" in reasons["may"]
    assert "must" in plan.served_refs


def test_forecast_deadline_closes_the_window_when_a_truck_can_keep_it(inventory, decisions):
    """Deadlines end the window (within the access window); one nobody can keep is dropped."""
    lisbon = _zone("Europe/Lisbon")
    day = date(2026, 6, 1)
    must, may, skip = decisions
    truck = replace(inventory.vehicles[0], streams=frozenset({"residual", "glass"}))
    inventory = replace(inventory, vehicles=(truck,))
    shift_start = clock_to_s(inventory.vehicles[0].shift.start, plan_date=day, tz=lisbon)
    dated = [
        replace(must, due_at=datetime(2026, 6, 1, 9, 30, tzinfo=lisbon)),
        replace(may, due_at=datetime(2026, 6, 1, 10, 0, tzinfo=lisbon)),
        skip,
    ]
    built = build_problem(inventory, dated, RecordingProvider(), plan_date=day, tz=lisbon)
    assert [s.window_s for s in built.problem.stops] == [
        (0, 9 * 3600 + 1800),
        (8 * 3600 + 1800, 10 * 3600),
    ]
    too_soon = datetime.combine(day, time(0, 0), tzinfo=lisbon) + timedelta(
        seconds=shift_start + 50
    )
    late = [replace(must, due_at=too_soon), may, skip]  # the depot is 100 s away
    built = build_problem(inventory, late, RecordingProvider(), plan_date=day, tz=lisbon)
    assert built.problem.stops[0].window_s is None


def test_instant_counts_elapsed_seconds_on_a_dst_day():
    """Lisbon springs forward at 01:00 on 2026-03-29: 06:00 local is 5 h after midnight."""
    lisbon = _zone("Europe/Lisbon")
    day = date(2026, 3, 29)
    at = datetime.combine(day, time(6, 0), tzinfo=lisbon)
    assert instant_to_s(at, plan_date=day, tz=lisbon) == 5 * 3600
    assert instant_to_s(at, plan_date=day, tz=lisbon) == clock_to_s(
        time(6, 0), plan_date=day, tz=lisbon
    )


def _at(day: date, hh: int, mm: int, tz) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=tz)


def test_a_bin_filling_faster_than_a_day_gets_a_second_visit_from_its_release(inventory, decisions):
    """Due 08:00, release 12:00: one visit by 08:00 and a second (``must#2``) from 12:00
    loading the refill; the truck still unloads at the site (100 s away, 10 min) and returns
    to the depot (100 s) by 14:00."""
    lisbon = _zone("Europe/Lisbon")
    day = date(2026, 6, 1)
    must, _, skip = decisions
    fast = replace(
        must,
        due_at=_at(day, 8, 0, lisbon),
        release_at=_at(day, 12, 0, lisbon),
        refill_fraction=0.25,
    )
    built = build_problem(inventory, [fast, skip], RecordingProvider(), plan_date=day, tz=lisbon)
    first, second = built.problem.stops
    assert (first.ref, first.window_s) == ("must", (0, 8 * 3600))
    assert second.ref == "must#2" and bin_of(second.ref) == "must"
    assert second.window_s == (12 * 3600, 14 * 3600 - 60 - 100 - 600 - 100)
    assert (second.volume_l, second.weight_kg) == (60, round_up(60 * inventory.bins[0].density))
    assert second.required and second.location == first.location


def test_release_before_the_deadline_is_one_visit_between_them(inventory, decisions):
    lisbon = _zone("Europe/Lisbon")
    day = date(2026, 6, 1)
    must, _, skip = decisions
    one_visit = replace(must, due_at=_at(day, 12, 0, lisbon), release_at=_at(day, 11, 30, lisbon))
    built = build_problem(
        inventory, [one_visit, skip], RecordingProvider(), plan_date=day, tz=lisbon
    )
    (stop,) = built.problem.stops
    assert stop.window_s == (11 * 3600 + 1800, 12 * 3600)
    close = replace(one_visit, release_at=_at(day, 12, 30, lisbon))  # < 1 h after the deadline
    (stop,) = build_problem(
        inventory, [close, skip], RecordingProvider(), plan_date=day, tz=lisbon
    ).problem.stops
    assert stop.window_s == (0, 12 * 3600)


def test_full_bin_with_a_release_is_emptied_early_and_again_later(inventory, decisions):
    """No deadline (full when the day starts): the first visit ends an hour before the
    release; a release after the last possible start moves to the last hour of it."""
    lisbon = _zone("Europe/Lisbon")
    day = date(2026, 6, 1)
    must, _, skip = decisions
    full = replace(must, release_at=_at(day, 11, 0, lisbon), refill_fraction=0.4)
    first, second = build_problem(
        inventory, [full, skip], RecordingProvider(), plan_date=day, tz=lisbon
    ).problem.stops
    assert first.window_s == (0, 10 * 3600)
    assert second.window_s is not None and second.window_s[0] == 11 * 3600
    too_late = replace(full, release_at=_at(day, 13, 59, lisbon))
    first, second = build_problem(
        inventory, [too_late, skip], RecordingProvider(), plan_date=day, tz=lisbon
    ).problem.stops
    latest = 14 * 3600 - 60 - 100 - 600 - 100
    assert second.window_s == (latest - 3600, latest)
    assert first.window_s == (0, latest - 2 * 3600)


def test_the_load_found_at_a_pickup_is_counted_like_a_planned_one() -> None:
    """Litres = fill x capacity, capped at the bin's capacity; kg from its density; rounded up."""
    b = Bin(bin_id="b", lon=24.9, lat=60.2, capacity_l=240, density_kg_per_l=0.15)
    assert found_load(b, 0.5) == (120, 18)
    assert found_load(b, 1.3) == (240, 36)
    assert found_load(b, 0.333) == (80, 12)  # 79.92 l, 11.988 kg


def test_the_load_found_at_a_weighed_pickup_is_the_weight_lifted() -> None:
    """The litres from the fill, the kg from the lift scale (rounded up), not the density."""
    b = Bin(bin_id="b", lon=24.9, lat=60.2, capacity_l=240, density_kg_per_l=0.15)
    assert found_load(b, 0.5, 40.2) == (120, 41)
    assert found_load(b, 1.3, 90.0) == (240, 90)


@pytest.mark.parametrize(
    ("made", "shift_s"),
    [
        (time(5, 0), (6 * 3600, 14 * 3600)),  # before the shift: as planned the night before
        (time(9, 30), (9 * 3600 + 1800, 14 * 3600)),  # during it: from then on
        (time(15, 0), (14 * 3600, 14 * 3600)),  # after it: no time left
    ],
)
def test_not_before_starts_each_shift_no_earlier(inventory, decisions, made, shift_s):
    """A plan made during the day (``not_before``, an instant in UTC here) starts the shift
    then; windows and the break keep their clock times."""
    lisbon = _zone("Europe/Lisbon")  # UTC+1 on 2026-06-01
    at = datetime.combine(date(2026, 6, 1), made, tzinfo=lisbon).astimezone(_zone("UTC"))
    built = build_problem(
        inventory,
        decisions,
        RecordingProvider(),
        plan_date=date(2026, 6, 1),
        tz=lisbon,
        not_before=at,
    )
    (v,) = built.problem.vehicles
    assert v.shift_s == shift_s and v.break_window_s == (10 * 3600, 11 * 3600)
    assert built.problem.stops[1].window_s == (8 * 3600 + 1800, 11 * 3600)


def test_duty_pieces_are_the_shift_outside_downtimes() -> None:
    """06:00-14:00 less 10:00-11:00 and 13:30-15:00: 06:00-10:00 and 11:00-13:30."""
    h = 3600
    pieces = duty_pieces((6 * h, 14 * h), [(10 * h, 11 * h), (13 * h + 1800, 15 * h)])
    assert pieces == [(6 * h, 10 * h), (11 * h, 13 * h + 1800)]
    assert duty_pieces((6 * h, 14 * h), [(5 * h, 15 * h)]) == []
    assert duty_pieces((6 * h, 14 * h), [(14 * h, 15 * h), (0, 6 * h)]) == [(6 * h, 14 * h)]


def _local(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=_zone(TZ))


@pytest.mark.parametrize(
    ("downtimes", "after_s", "shift_s", "note"),
    [
        ([], None, (6 * 3600, 14 * 3600), None),
        (  # in the workshop until 09:00: the longest part left, 09:00-14:00
            [Downtime(vehicle_id="t1", start=_local(5), end=_local(9), reason="brakes")],
            None,
            (9 * 3600, 14 * 3600),
            "t1 is out of service from 05:00 until 09:00 (brakes): it works 09:00-14:00",
        ),
        (  # of the two parts, the longer
            [Downtime(vehicle_id="t1", start=_local(8), end=_local(9))],
            None,
            (9 * 3600, 14 * 3600),
            "t1 is out of service from 08:00 until 09:00: it works 09:00-14:00",
        ),
        (  # on the road at 07:00: it goes on until the downtime
            [Downtime(vehicle_id="t1", start=_local(8), end=_local(9))],
            7 * 3600,
            (6 * 3600, 8 * 3600),
            "t1 is out of service from 08:00 until 09:00: it works 06:00-08:00",
        ),
        (  # broken down at 10:00, until further notice; another truck's downtime
            [
                Downtime(vehicle_id="t1", start=_local(10)),
                Downtime(vehicle_id="t2", start=_local(6)),
            ],
            10 * 3600,
            None,
            "t1 is out of service from 10:00: it takes no more bins today",
        ),
        (  # since the evening before, until further notice
            [Downtime(vehicle_id="t1", start=_local(18) - timedelta(days=1))],
            None,
            None,
            f"t1 is out of service from {DAY - timedelta(days=1)} 18:00: it takes no bins today",
        ),
        (  # over before the truck's time: nothing to say
            [Downtime(vehicle_id="t1", start=_local(6), end=_local(8))],
            9 * 3600,
            (6 * 3600, 14 * 3600),
            None,
        ),
    ],
)
def test_a_truck_out_of_service_works_the_part_of_its_shift_outside(
    downtimes: list[Downtime], after_s: int | None, shift_s: tuple[int, int] | None, note: str
) -> None:
    truck = VehicleSpec(
        ref="t1",
        start=0,
        end=0,
        capacity_l=1000,
        capacity_kg=1000,
        streams=frozenset({"residual"}),
        shift_s=(6 * 3600, 14 * 3600),
    )
    spec, said = on_duty(truck, downtimes, plan_date=DAY, tz=_zone(TZ), after_s=after_s)
    assert (None if spec is None else spec.shift_s, said) == (shift_s, note)
