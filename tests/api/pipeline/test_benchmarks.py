"""The service's benchmarks at test size on Helsinki's streets: an alert rerouted, a day
reported as planned, a day too full for the trucks, re-plans of a driven day."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_an_alert_on_helsinki_streets_is_rerouted_and_served() -> None:
    """End to end through the service on the demo city (benchmarks.api_reroute, 1 s plan):
    trucks report their morning (bins and unloadings), an alert names a skipped bin, one truck
    now serves it. Then a crew empties a bin another truck is still to empty: a reroute
    (origin ``emptied``) takes that trip out, breaking no rule."""
    from benchmarks.api_reroute import run

    got = run(plan_limit_s=1, alert_at="08:00", seed=7)  # trucks have bins left then
    assert (got["alert_status"], got["new_plan_status"]) == ("rerouted", "done")
    assert got["visits_done_before_alert"] > 0 and got["unloadings_before_alert"] > 0
    assert len(got["alert_bin_served_by"]) == 1
    before, after = got["kpis_before"], got["kpis_after"]
    assert after["must_total"] == before["must_total"] + 1
    assert after["unserved_must"] == 0
    emptied = got["emptied_elsewhere"]
    assert (emptied["origin"], emptied["status"], emptied["time_limit_s"]) == ("emptied", "done", 1)
    assert not emptied["bin_still_sent"] and emptied["violations"] == 0


def test_a_day_of_reports_along_the_plan_reads_none_off_route() -> None:
    """``benchmarks.api_progress`` at test size: one truck's day of sixty bins and its
    trips to the site, reported as planned: every report is taken, none is off route."""
    from benchmarks.api_progress import run

    got = run(bins=60, trucks=1, plan_limit_s=1, seed=5)
    assert got["work_reports"] > 40 and got["unloading_reports"] >= 2
    assert got["off_route_reports"] == 0


def test_alerts_on_a_day_too_full_for_the_trucks_keep_one_day_plan() -> None:
    """``benchmarks.api_overload`` at test size: 80 bins all due, one truck planned at
    11:00, half of them left out; two alerts are rerouted, and the database keeps the day
    plan of the newest version only (the others' dropped, their documents kept)."""
    from benchmarks.api_overload import run

    got = run(bins=80, trucks=1, alerts=2, at="11:00", plan_limit_s=1)
    assert got["unserved_must"] > 0
    assert [a["status"] for a in got["alerts"]] == ["rerouted", "rerouted"]
    plans = sorted(got["plans"], key=lambda p: p["version"])
    assert [p["origin"] for p in plans] == ["request", "reroute", "reroute"]
    assert [p["state_bytes"] > 0 for p in plans] == [False, False, True]
    assert all(p["exports_bytes"] > 0 for p in plans)


def test_the_overload_benchmark_refuses_a_clock_that_is_not_hh_mm(capsys) -> None:
    """``--at 9`` or ``25:00`` stops at once, naming the option and the form; ``9:05`` is
    read as 09:05 (the service's clock is built from it)."""
    from benchmarks.api_overload import _clock, main

    for bad in ("9", "25:00", "noon"):
        with pytest.raises(SystemExit):
            main(["--at", bad])
        assert f"argument --at: '{bad}' is not a clock time: give HH:MM" in capsys.readouterr().err
    assert _clock("9:05") == "09:05"


@pytest.mark.slow
def test_a_driven_day_on_helsinki_streets_is_replanned_from_where_the_trucks_are() -> None:
    """``benchmarks.replan`` at test size (1 s searches): at 06:30 the trucks go on from
    where their plan had them, every must bin is collected, no rule is broken."""
    from benchmarks.replan import run

    got = run(
        street_bins=60, trucks=3, day_limit_s=1, limit_s=1, at="06:30", joined=5, left=3, seed=7
    )
    assert got["visits_done"] > 0 and got["left"] == 3
    assert got["violations"] == [] and got["kept_as_driven"]
    assert got["kpis_after"]["unserved_must"] == 0
    assert (got["down"], got["down_bins_after"]) == ([], 0)


def test_a_truck_broken_down_on_helsinki_streets_takes_no_more_bins() -> None:
    """``benchmarks.replan`` at test size with the busiest of three trucks broken down at
    07:00: it takes no more bins and stands where it broke down, the others go on, no rule
    is broken."""
    from benchmarks.replan import run

    got = run(
        street_bins=60,
        trucks=3,
        day_limit_s=1,
        limit_s=1,
        at="07:00",
        joined=0,
        left=0,
        seed=7,
        down=1,
    )
    assert len(got["down"]) == 1 and got["down_bins_after"] == 0
    assert got["down_standing"] == got["down"]
    assert got["violations"] == [] and got["kept_as_driven"]
