"""Validation of the frozen domain records."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

import pytest

from fleet.errors import FleetDataError
from fleet.models import (
    OPPORTUNITY_HORIZON_DAYS,
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    Inventory,
    TimeWindow,
    Vehicle,
    WeightReading,
    next_opportunities,
)
from tests.fleet.conftest import CET, T0, make_bin

NAIVE = T0.replace(tzinfo=None)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: make_bin(""), "bin_id must not be empty"),
        (lambda: make_bin(lon=49.4, lat=108.7), "column order"),
        (lambda: make_bin(lon=385000.0, lat=6672000.0), "projected coordinates"),  # EPSG:3067
        (lambda: make_bin(lon=float("nan")), "finite"),
        (lambda: make_bin(capacity_l=0), "capacity_l must be > 0"),
        (lambda: make_bin(service_s=-1), "service_s"),
        (lambda: make_bin(density_kg_per_l=0.0), "density"),
        (lambda: make_bin(measured_density_kg_per_l=float("nan")), "measured_density"),
        (lambda: Depot(depot_id="", lon=0, lat=0), "depot_id"),
        (lambda: DisposalSite(site_id="s", lon=0, lat=0, streams=frozenset()), "no waste stream"),
        (lambda: TimeWindow(time(14), time(6)), "past midnight are not supported: give it within"),
        (lambda: Vehicle(vehicle_id="v", depot_id="d", capacity_l=0, capacity_kg=1), "capacity"),
        (
            lambda: Vehicle(vehicle_id="v", depot_id="d", capacity_l=1, capacity_kg=1, break_s=60),
            "break_window",
        ),
        (
            lambda: Vehicle(
                vehicle_id="v",
                depot_id="d",
                capacity_l=1,
                capacity_kg=1,
                break_s=1800,
                break_window=TimeWindow(time(15), time(16)),  # the shift is 06:00-14:00
            ),
            "break_window 15:00:00-16:00:00 lies outside its shift 06:00:00-14:00:00",
        ),
        (
            lambda: Vehicle(
                vehicle_id="v",
                depot_id="d",
                capacity_l=1,
                capacity_kg=1,
                break_window=TimeWindow(time(10), time(10, 30)),  # break_s left out
            ),
            "a break_window needs break_s, the break's length in seconds",
        ),
        (
            lambda: Vehicle(
                vehicle_id="v",
                depot_id="d",
                capacity_l=1,
                capacity_kg=1,
                break_s=3600,
                break_window=TimeWindow(time(13, 30), time(14)),
            ),
            "starting at 13:30:00 at the earliest ends after its shift",
        ),
        (
            lambda: Vehicle(
                vehicle_id="v", depot_id="d", capacity_l=1, capacity_kg=1, fixed_cost=-5
            ),
            "fixed_cost must be in 0..1e",
        ),
        (  # 1e308 is finite, but in cents (the solver's) it is no number: the plan crashed
            lambda: Vehicle(
                vehicle_id="v", depot_id="d", capacity_l=1, capacity_kg=1, cost_per_km=1e308
            ),
            r"vehicle 'v': .*must be in 0..1e\+06 \(currency units\)",
        ),
        (
            lambda: Vehicle(
                vehicle_id="v", depot_id="d", capacity_l=1, capacity_kg=1, cost_per_km=math.nan
            ),
            "cost_per_km",
        ),
        (
            lambda: Vehicle(
                vehicle_id="v", depot_id="d", capacity_l=1, capacity_kg=1, max_daily_kg=0
            ),
            "max_daily_kg must be > 0 or empty",
        ),
        (lambda: FillReading(bin_id="b", at=NAIVE, fill_fraction=0.5), "add an offset"),
        (lambda: FillReading(bin_id="b", at=T0, fill_fraction=42.0), "not a percentage"),
        (
            lambda: FillReading(bin_id="b", at=T0, fill_fraction=0.5, weight_kg=math.inf),
            "weight_kg must be a finite number >= 0",
        ),
        (
            lambda: FillReading(bin_id="b", at=T0, fill_fraction=0.5, fill_from_weight=True),
            "derived from the weight needs weight_kg",
        ),
        (lambda: WeightReading(bin_id="b", at=NAIVE, weight_kg=3.0), "add an offset"),
        (lambda: WeightReading(bin_id="b", at=T0, weight_kg=-3.0), "weight_kg must be a finite"),
        (lambda: CitizenReport(report_id="r", at=T0), "bin_id or both lon and lat"),
        (lambda: CitizenReport(report_id="r", at=NAIVE, bin_id="b"), "add an offset"),
        (lambda: Downtime(vehicle_id="v", start=NAIVE), "downtime of vehicle 'v'.*add an offset"),
        (
            lambda: Downtime(vehicle_id="v", start=T0, end=T0),
            "downtime of vehicle 'v': end .* is not after start",
        ),
    ],
)
def test_invalid_records_raise(build, match: str) -> None:
    with pytest.raises(FleetDataError, match=match):
        build()


def test_a_break_that_fits_the_shift_is_accepted() -> None:
    """A window opening before the shift starts: the break may start with the shift."""
    v = Vehicle(
        vehicle_id="v",
        depot_id="d",
        capacity_l=1,
        capacity_kg=1,
        shift=TimeWindow(time(6), time(7)),
        break_s=3600,
        break_window=TimeWindow(time(5), time(6, 30)),
    )
    assert v.break_s == 3600


def test_inventory_checks_ids_and_home_depots() -> None:
    d = Depot(depot_id="d1", lon=8.6, lat=49.4)
    v = Vehicle(vehicle_id="v1", depot_id="d9", capacity_l=1, capacity_kg=1)
    with pytest.raises(FleetDataError, match="home depot 'd9'"):
        Inventory(bins=(), depots=(d,), vehicles=(v,), sites=())
    with pytest.raises(FleetDataError, match="appears twice"):
        Inventory(bins=(make_bin("a"), make_bin("a")), depots=(), vehicles=(), sites=())
    ok = Vehicle(vehicle_id="v1", depot_id="d1", capacity_l=1, capacity_kg=1)
    down = Downtime(vehicle_id="v2", start=T0)
    with pytest.raises(FleetDataError, match="downtime of vehicle 'v2': the vehicle is not in"):
        Inventory(bins=(), depots=(d,), vehicles=(ok,), sites=(), downtimes=(down,))


def test_a_downtime_covers_the_instants_it_overlaps() -> None:
    """Half-open: a downtime ending at 10:00 does not cover [10:00, 11:00); one without an
    end covers every later instant."""
    hour = T0.replace(hour=10) - T0.replace(hour=9)
    at10 = T0.replace(hour=10)
    repaired = Downtime(vehicle_id="v", start=at10 - hour, end=at10)
    assert repaired.covers(at10 - 2 * hour, at10 - hour / 2)
    assert not repaired.covers(at10, at10 + hour)
    broken = Downtime(vehicle_id="v", start=at10, reason="hydraulics")
    assert broken.covers(at10 + 100 * hour, at10 + 101 * hour)
    assert not broken.covers(at10 - hour, at10)


def test_bin_density_defaults_to_stream() -> None:
    assert make_bin(stream="organic").density == 0.40
    assert make_bin(stream="unknown-stream").density == 0.10
    assert Bin(bin_id="x", lon=0, lat=0, capacity_l=1, density_kg_per_l=0.2).density == 0.2


def test_bin_density_set_wins_over_measured_over_stream() -> None:
    weighed = make_bin(stream="organic", measured_density_kg_per_l=0.7)
    assert weighed.density == 0.7
    assert make_bin(density_kg_per_l=0.2, measured_density_kg_per_l=0.7).density == 0.2


def test_a_density_in_kg_per_cubic_metre_is_refused_with_the_fix() -> None:
    """110 (kg/m3 for 0.11 kg/l) planned a full 1100 l bin at 121 000 kg, and a 100 kg
    weight read as 0.1 % full: densities are kg per litre, at most 5."""
    with pytest.raises(FleetDataError, match=r"kg/m3\? divide by 1000"):
        make_bin(density_kg_per_l=110.0)
    assert make_bin(density_kg_per_l=0.11).density == 0.11


def _fleet(*downtimes: Downtime) -> Inventory:
    """A residual truck from 06:00 and a paper truck 06:00-14:00 at one depot, with
    ``downtimes`` of the paper truck."""

    def truck(vehicle_id: str, stream: str, start: int) -> Vehicle:
        return Vehicle(
            vehicle_id=vehicle_id,
            depot_id="d",
            capacity_l=1,
            capacity_kg=1,
            streams=frozenset({stream}),
            shift=TimeWindow(time(start), time(start + 8)),
        )

    return Inventory(
        bins=(),
        depots=(Depot(depot_id="d", lon=8.69, lat=49.41),),
        vehicles=(truck("t_res", "residual", 6), truck("t_paper", "paper", 6)),
        sites=(),
        downtimes=downtimes,
    )


def _day(days: int, hour: float = 0.0) -> datetime:
    """``days`` after T0's day (the plan date) at ``hour``, local."""
    return T0 + timedelta(days=days, hours=hour)


def _nexts(*downtimes: Downtime) -> dict[str, datetime | None]:
    return next_opportunities(_fleet(*downtimes), T0.date(), CET, gap=timedelta(days=1))


def test_a_streams_next_opportunity_is_its_next_shift_start_without_downtimes() -> None:
    assert _nexts() == {"residual": _day(1, 6), "paper": _day(1, 6)}
    gap = timedelta(days=1.1)  # a policy's margin: the same part of the day each later day
    assert next_opportunities(_fleet(), T0.date(), CET, gap=gap)["paper"] == _day(1, 8.4)


def test_a_streams_next_opportunity_with_days_not_whole_is_within_a_later_shift() -> None:
    def paper(days: float, *downtimes: Downtime) -> datetime | None:
        gap = timedelta(days=days)
        return next_opportunities(_fleet(*downtimes), T0.date(), CET, gap=gap)["paper"]

    assert paper(1.5) == _day(2, 6)  # 18:00 tomorrow is past the 06:00-14:00 shift
    assert paper(0.5) == _day(1, 6)  # 18:00 today too, and the next plan is tomorrow's
    tomorrow = Downtime(vehicle_id="t_paper", start=_day(1), end=_day(2))
    assert paper(1.1, tomorrow) == _day(2, 6)  # the day after: in service from its start


def test_a_truck_out_of_service_all_tomorrow_comes_the_day_after() -> None:
    tomorrow = Downtime(vehicle_id="t_paper", start=_day(1), end=_day(2), reason="workshop")
    assert _nexts(tomorrow) == {"residual": _day(1, 6), "paper": _day(2, 6)}


def test_a_truck_out_for_part_of_its_shift_comes_when_it_is_back() -> None:
    morning = Downtime(vehicle_id="t_paper", start=_day(1, 5), end=_day(1, 12))
    assert _nexts(morning)["paper"] == _day(1, 12)
    past_its_shift = Downtime(vehicle_id="t_paper", start=_day(1, 5), end=_day(1, 15))
    assert _nexts(past_its_shift)["paper"] == _day(2, 6)
    twice = Downtime(vehicle_id="t_paper", start=_day(1, 12), end=_day(2, 9))
    assert _nexts(morning, twice)["paper"] == _day(2, 9)  # back at 12:00, out again then
    later = Downtime(vehicle_id="t_paper", start=_day(1, 7), end=_day(4))
    assert _nexts(later)["paper"] == _day(1, 6)  # in service at its shift's start


def test_a_stream_whose_trucks_are_out_until_further_notice_or_too_long_has_none() -> None:
    for_good = Downtime(vehicle_id="t_paper", start=_day(0, 12), reason="written off")
    assert _nexts(for_good) == {"residual": _day(1, 6), "paper": None}
    assert _nexts(Downtime(vehicle_id="t_paper", start=_day(1), end=_day(14)))["paper"] == (
        _day(14, 6)
    )
    too_long = Downtime(vehicle_id="t_paper", start=_day(1), end=_day(15))
    assert _nexts(too_long)["paper"] is None  # beyond OPPORTUNITY_HORIZON_DAYS
    assert OPPORTUNITY_HORIZON_DAYS == 14


def test_a_gap_longer_than_the_horizon_looks_for_trucks_from_the_day_it_falls_on() -> None:
    """Collected every 3 weeks: the next opportunity is 21 days ahead, not none (which
    made every bin a must bin, 'no truck in service within 14 days'); the horizon's days
    count from then."""

    def paper(*downtimes: Downtime) -> datetime | None:
        gap = timedelta(days=21)
        return next_opportunities(_fleet(*downtimes), T0.date(), CET, gap=gap)["paper"]

    assert paper() == _day(21, 6)
    assert paper(Downtime(vehicle_id="t_paper", start=_day(20), end=_day(34))) == _day(34, 6)
    assert paper(Downtime(vehicle_id="t_paper", start=_day(20), end=_day(35))) is None
