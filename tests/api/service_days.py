"""Seeded random days of the service (the real pipeline, haversine times, 1 s searches):
the harness of ``tests/api/test_service_days.py`` and of the fuzz it runs.

A small random city is planned at night; its trucks then report their routes as driven
while random events come: overflow alerts, bins emptied off a truck's route (once, or twice
with an unloading between) or ahead of its order, unloadings sooner than planned, trucks
breaking down and back, bins deleted (some just after their alert), disposal sites opened
and closed, positions, dismissals and re-plans. A wider day (``wide``) also gives trucks a
break and bins time windows, and brings bins the crews could not empty, trucks changed,
added and booked for maintenance, new readings, citizens' reports, new bins and tablets
out of coverage (their crews drive the route the tablet showed, reroutes made meanwhile
not reaching them, and send its visits when back, late, against that plan). With
``edits`` records are put again during the day too: bins moved and resized, sites' hours,
unloading times and places changed, a deleted site or bin listed again, depots moved,
trucks moved to another depot. After each event, with the jobs idle, the service keeps
its promises (:meth:`Day.check`). Days also run in a row (:meth:`Day.next_day`: the next
night's readings and plan) and on a city's streets (:class:`StreetDay`). The solver's
results vary with the machine's speed; the promises do not.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Runtime, get_routing
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network import StreetNetwork
from network.providers import HaversineProvider
from tests.api.conftest import PLAN_DATE

SENT = ("rerouted", "planned")
CLOSED = ("bin_deleted", "emptied", "dismissed")  # a deleted bin's alerts read one of them
# a reroute whose alerted bins were all deleted while it ran fails so, by design
DELETED_MEANWHILE = "deleted meanwhile: no reroute"
OVERRUN = "cannot be back"  # a truck running late: the plan says so, and breaks its shift
# a truck reported after its break window without its break (moved while on it): noted
NO_BREAK = "breaks the break rule"
KEPT = (  # what change_truck and move_truck send back
    *("vehicle_id", "depot_id", "capacity_l", "capacity_kg", "max_stops"),
    *("shift_start", "shift_end", "break_s", "break_start", "break_end"),
)


def _judged_off(b: str, off: Counter[str], resent: Counter[str]) -> bool:
    """Whether a report of bin ``b`` can be one the service judged off its truck's route
    (``off``) or took for a resend (the same bin again, no other work between:
    ``resent``); if so, it is taken off that count (each report stands for one)."""
    for judged in (off, resent):
        if judged[b] > 0:
            judged[b] -= 1
            return True
    return False


def _midnight(plan_date: str, tz: ZoneInfo) -> datetime:
    """Local midnight starting ``plan_date`` in ``tz``, at that instant's fixed UTC offset
    (the times the day's reports are sent at are counted from it)."""
    at = datetime.combine(date.fromisoformat(plan_date), time(0), tzinfo=tz)
    offset = at.utcoffset()
    assert offset is not None
    return at.replace(tzinfo=timezone(offset))


class Day:
    """A random city's day driven through the service, and what it was told."""

    def __init__(
        self,
        client: TestClient,
        runtime: Runtime,
        rng: random.Random,
        wide: bool = False,
        edits: bool = False,
        busy: bool = False,
        plan_date: str = PLAN_DATE,
    ) -> None:
        self.c, self.rt, self.rng, self.wide, self.edits = client, runtime, rng, wide, edits
        self.busy = busy  # reports and events may come while jobs run (``random_days``)
        self.key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "days")}
        self.problems: list[str] = []
        self.plan_date = plan_date  # the day driven (next_day)
        self.midnight = _midnight(plan_date, runtime.settings.tz)
        self.now = self.midnight - timedelta(hours=2)
        self.trucks = [f"v{i}" for i in range(rng.randint(2, 3))]
        self.bins: dict[str, tuple[float, float]] = {}
        self.sites = ["s1"]
        self.site_at: dict[str, tuple[float, float]] = {}  # where each site was listed
        self.depots = ["d1"]
        self.closed: dict[str, datetime] = {}
        self.down: dict[str, int] = {}  # truck -> open downtime id
        self.deleted: set[str] = set()
        self.reported: dict[str, list[str]] = {t: [] for t in self.trucks}  # route bins done
        self.taken: dict[str, list[str]] = {}  # bins emptied out of the route's order
        self.dumped: dict[str, list[str]] = {}  # sites unloaded at out of the route's order
        self.unloaded: dict[str, Counter[str]] = {t: Counter() for t in self.trucks}
        self.silent: Counter[str] = Counter()  # truck -> steps its tablet sends nothing more
        # truck -> the plan its tablet showed when it went out of coverage, and its route
        self.held: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self.strayed: set[str] = set()  # trucks that drove a held route today

    # ---------------------------------------------------------------- requests
    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The response to a request; a 5xx is a problem."""
        r = self.c.request(method, path, json=body, headers=self.key)
        if r.status_code >= 500:
            self.problems.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
        return r

    def at(self, minutes: float) -> None:
        """The clock moves on ``minutes``."""
        self.now += timedelta(minutes=minutes)
        when = self.now
        self.rt.jobs.clock = lambda: when

    def newest(self, plans: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The newest done plan of the day, of ``plans`` when the caller read them."""
        if plans is None:
            plans = self.call("GET", f"/plans?plan_date={self.plan_date}").json()
        done = [p for p in plans if p["status"] == "done"]
        return max(done, key=lambda p: p["version"])

    def routes(self, plan: dict[str, Any]) -> dict[str, Any]:
        return self.call("GET", f"/plans/{plan['id']}/routes").json()

    def live_bins(self) -> list[str]:
        return [b for b in self.bins if b not in self.deleted]

    def up(self) -> list[str]:
        return [t for t in self.trucks if t not in self.down]

    def reach(self) -> list[str]:
        """The trucks in service whose tablets are in coverage (their crews' reports come)."""
        return [t for t in self.up() if self.silent[t] == 0]

    # ---------------------------------------------------------------- the city and its night
    def seed(self) -> None:
        """A depot, a site, the trucks, 8-20 bins with two readings each; the night plan."""
        rng = self.rng
        (x, y), (u, v) = self.home()
        self.call("POST", "/depots", {"depot_id": "d1", "lon": x, "lat": y})
        self.call("POST", "/sites", {"site_id": "s1", "lon": u, "lat": v})
        self.site_at["s1"] = (u, v)
        for t in self.trucks:
            self.call("POST", "/vehicles", self.truck(t))
        for i in range(rng.randint(8, 20)):
            self.bins[f"b{i}"] = self.spot()
        self.call("POST", "/bins/bulk", [self.bin(b) for b in self.bins])
        reads = [
            {
                "bin_id": b,
                "at": (self.midnight - timedelta(hours=h)).isoformat(),
                "fill_fraction": f,
            }
            for b in self.bins
            for h, f in ((30, rng.random() * 0.3), (6, rng.random() * 0.9))
        ]
        self.call("POST", "/readings", reads)
        self.at(0)
        self.call("POST", "/plans", {"plan_date": self.plan_date, "time_limit_s": 1})
        self.idle()
        self.at(rng.uniform(8 * 60, 11 * 60))  # 06:00-09:00 local

    def next_day(self) -> None:
        """The night after: new readings of most bins at 22:00, the next day's plan (checked),
        then the clock at 06:00-09:00 of that day; what stays (trucks down, bins deleted,
        sites) stays."""
        rng = self.rng
        self.plan_date = (date.fromisoformat(self.plan_date) + timedelta(days=1)).isoformat()
        self.midnight = _midnight(self.plan_date, self.rt.settings.tz)
        self.now = self.midnight - timedelta(hours=2)
        self.at(0)
        self.reported = {t: [] for t in self.trucks}
        self.taken, self.dumped = {}, {}
        self.unloaded = {t: Counter() for t in self.trucks}
        self.closed, self.held, self.strayed = {}, {}, set()
        at = self.now.isoformat()
        reads = [
            {"bin_id": b, "at": at, "fill_fraction": round(rng.random() * 0.9, 2)}
            for b in self.live_bins()
            if rng.random() < 0.8
        ]
        if reads:
            self.call("POST", "/readings", reads)
        self.call("POST", "/plans", {"plan_date": self.plan_date, "time_limit_s": 1})
        self.idle()
        self.check(f"{self.plan_date}'s night")
        self.at(rng.uniform(8 * 60, 11 * 60))

    def home(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Where depot d1 and site s1 are (lon, lat)."""
        return (24.94, 60.17), (24.98, 60.2)

    def spot(self) -> tuple[float, float]:
        """A random place in the city (lon, lat): a bin's, a truck's reported position."""
        return (24.93 + 0.04 * self.rng.random(), 60.16 + 0.03 * self.rng.random())

    def new_site_at(self) -> tuple[float, float]:
        """Where a disposal site opened during the day is (lon, lat)."""
        return (24.93 + 0.04 * self.rng.random(), 60.18)

    def truck(self, ref: str) -> dict[str, Any]:
        """A truck's record; a wide day's has a shift end, and a break more often than not."""
        rng = self.rng
        kg = rng.choice([2000, 8000]) if self.wide else 8000
        body: dict[str, Any] = {"vehicle_id": ref, "depot_id": "d1", "capacity_kg": kg}
        body["capacity_l"] = rng.choice([3000, 8000, 20000])
        body["max_stops"] = rng.choice([None, 6, 10])
        if self.wide:
            body["shift_end"] = rng.choice(["12:00", "13:00", "14:00"])
            if rng.random() < 0.6:
                start, end = rng.choice(["09:00", "10:00"]), rng.choice(["11:00", "11:30", "12:00"])
                body |= {"break_s": 1800, "break_start": start, "break_end": end}
        return body

    def bin(self, ref: str) -> dict[str, Any]:
        """A bin's record; a wide day's has a service time, and a window now and then."""
        rng = self.rng
        (x, y), size = self.bins[ref], rng.choice([240, 660, 1100, *([3000] if self.wide else [])])
        body: dict[str, Any] = {"bin_id": ref, "lon": x, "lat": y, "capacity_l": size}
        if self.wide:
            body["service_s"] = rng.choice([30, 60, 300, 900])
            if rng.random() < 0.3:
                h = rng.choice([7, 8, 9, 10])
                end = h + rng.choice([1, 2, 4])
                body |= {"window_start": f"{h:02d}:00", "window_end": f"{end:02d}:00"}
        return body

    def idle(self) -> None:
        if not self.rt.jobs.wait_idle(120):
            self.problems.append("the jobs did not finish")

    # ---------------------------------------------------------------- the trucks drive
    def report_until_now(self) -> None:
        """Each truck in service reports its newest route's visits ended by now, in order.
        A truck back in coverage first sends, against the plan its tablet showed when it
        went out (``held``), the visits of that route it made meanwhile, at their times
        (broken down meanwhile: those it made before, :meth:`_broke_down`): reroutes made
        while it was out never reached it."""
        plan = self.newest()
        for route in self.routes(plan)["routes"]:
            truck = route["vehicle_id"]
            if self.silent[truck] > 0:  # out of coverage: its visits' reports wait
                self.silent[truck] -= 1
                continue
            held = self.held.pop(truck, None)
            if truck not in self.reported:
                continue
            if held is not None:  # broken down meanwhile: its visits before (_broke_down)
                self.strayed.add(truck)
                self._drive(held[0], truck, held[1])
            if truck not in self.down:
                self._drive(plan["id"], truck, route["visits"])

    def _drive(self, plan_id: int, truck: str, visits: list[dict[str, Any]]) -> None:
        done, unloaded = self._done_of(plan_id, truck)
        seen, sites = Counter[str](), Counter[str]()
        for v in visits:
            if v["kind"] not in ("bin", "disposal"):
                continue
            key = v["bin_id"] if v["kind"] == "bin" else v["ref"]
            counter = seen if v["kind"] == "bin" else sites
            counter[key] += 1
            before = done[key] if v["kind"] == "bin" else unloaded[key]
            if counter[key] <= before:
                continue
            if datetime.fromisoformat(v["end"]) > self.now:
                return
            body = {"vehicle_id": truck, "at": v["end"]}
            if v["kind"] == "bin":
                body |= {"kind": "visit_done", "bin_id": key}
            else:
                body |= {"kind": "disposal_done", "site_id": key}
            if self.call("POST", f"/plans/{plan_id}/progress", body).status_code != 201:
                return
            if v["kind"] == "bin":
                self.reported[truck].append(key)
            else:
                self.unloaded[truck][key] += 1

    def _done_of(self, plan_id: int, truck: str) -> tuple[Counter[str], Counter[str]]:
        """How often ``truck``'s crew emptied each bin, and unloaded at each site, on its
        route in plan ``plan_id``, as its tablet shows: the route's visits it reported
        (``reported``, ``unloaded``), and the bins it took and unloadings it made out of the
        route's order (``taken``, ``dumped``) that the service judged on the route (a plan
        made meanwhile had the bin next, :meth:`_done_kept`; the unloading was the route's
        next work, a visit done timed as planned): not done again."""
        done, made = Counter(self.reported.get(truck, [])), Counter(self.unloaded.get(truck, {}))
        taken, dumped = set(self.taken.get(truck, ())), set(self.dumped.get(truck, ()))
        on = self._on_route(plan_id, truck) if taken or dumped else Counter()
        for b in taken:
            done[b] = max(done[b], on["bin", b])
        for site in dumped:
            made[site] = max(made[site], on["disposal", site])
        return done, made

    def _on_route(self, plan_id: int, truck: str) -> Counter[tuple[str, str]]:
        """How often the service judged ``truck``'s emptyings of each bin (``("bin", id)``)
        and its unloadings at each site (``("disposal", id)``) on its route in plan
        ``plan_id``, resends aside."""
        return Counter(
            ("bin", r["bin_id"]) if r["kind"] == "visit_done" else ("disposal", r["site_id"])
            for r in self.call("GET", f"/plans/{plan_id}/progress").json()
            if r["vehicle_id"] == truck and r["kind"] in ("visit_done", "disposal_done")
            if r["off_route"] is False and not r["resend"]
        )

    def _to_do(self, plan_id: int, route: dict[str, Any]) -> list[str]:
        """The bins ``route`` (of plan ``plan_id``) still has its truck's crew empty, in
        order (:meth:`_done_of`: the k-th report of a bin is its k-th visit)."""
        done, seen, to_do = self._done_of(plan_id, route["vehicle_id"])[0], Counter[str](), []
        for b in (v["bin_id"] for v in route["visits"] if v["kind"] == "bin"):
            seen[b] += 1
            if seen[b] > done[b]:
                to_do.append(b)
        return to_do

    def report(self, truck: str, **body: Any) -> bool:
        """A report of ``truck`` against the newest plan; whether it was taken."""
        plan = self.newest()
        full = {"vehicle_id": truck, "at": self.now.isoformat(), **body}
        return bool(self.call("POST", f"/plans/{plan['id']}/progress", full).status_code == 201)

    def dump(self, truck: str, site_id: str) -> None:
        """``truck`` unloads at ``site_id`` now, maybe sooner than planned or once more: kept
        in ``dumped``, done whichever way the service judges it (:meth:`take`)."""
        if self.report(truck, kind="disposal_done", site_id=site_id):
            self.dumped.setdefault(truck, []).append(site_id)

    def take(self, truck: str, bin_id: str, **body: Any) -> None:
        """``truck``'s crew empties ``bin_id`` out of its route's order (ahead of it, off
        it), as it stands in the newest plan: kept in ``taken``, done whichever way the
        service judges it (on the route of a plan a job made meanwhile, or off it)."""
        if self.report(truck, kind="visit_done", bin_id=bin_id, **body):
            self.taken.setdefault(truck, []).append(bin_id)

    # ---------------------------------------------------------------- events
    def alert(self, bin_id: str | None = None) -> None:
        b = bin_id or self.rng.choice(self.live_bins())
        self.call("POST", "/alerts", {"bin_id": b, "at": self.now.isoformat()})

    def _off_route_bin(self, truck: str) -> str | None:
        """A bin off ``truck``'s route: another truck's not emptied yet, else any listed."""
        routes = self.routes(self.newest())["routes"]
        visits = {
            r["vehicle_id"]: [v["bin_id"] for v in r["visits"] if v["kind"] == "bin"]
            for r in routes
        }
        mine = set(visits.get(truck, []))
        emptied = {b for done in self.reported.values() for b in done}
        others = [b for t, bins in visits.items() if t != truck for b in bins]
        pool = [b for b in others if b not in emptied | mine | self.deleted]
        pool = pool or [b for b in self.live_bins() if b not in mine]
        return self.rng.choice(pool) if pool else None

    def off_route(self) -> None:
        """A crew empties a bin off its route (found at some fill, half the time); an alert
        follows, on that bin half the time."""
        if not self.reach():
            return
        truck = self.rng.choice(self.reach())
        b = self._off_route_bin(truck)
        if b is None:
            return
        fill = {"fill_fraction": round(self.rng.random(), 2)} if self.rng.random() < 0.5 else {}
        self.take(truck, b, **fill)
        self.alert(b if self.rng.random() < 0.5 else None)

    def ahead(self) -> None:
        """A crew empties the second bin its route still has to do before the first (found
        at some fill, half the time): off its route, the day goes on from that bin, the
        first still to do."""
        ahead, plan = {}, self.newest()
        for route in self.routes(plan)["routes"]:
            truck = route["vehicle_id"]
            if truck not in self.reach() or truck not in self.reported:
                continue
            to_do = self._to_do(plan["id"], route)
            if len(to_do) >= 2 and to_do[1] not in self.deleted:
                ahead[truck] = to_do[1]
        if not ahead:
            return
        truck = self.rng.choice(sorted(ahead))
        fill = {"fill_fraction": round(self.rng.random(), 2)} if self.rng.random() < 0.5 else {}
        self.take(truck, ahead[truck], **fill)

    def twice(self) -> None:
        """A crew empties a bin off its route, unloads, empties it again; then an alert."""
        if not self.reach() or not self.sites:
            return
        truck = self.rng.choice(self.reach())
        b = self._off_route_bin(truck)
        if b is None:
            return
        self.take(truck, b)
        self.at(10)
        self.dump(truck, self.rng.choice(self.sites))
        self.at(10)
        self.take(truck, b)
        self.alert()

    def early(self) -> None:
        """A truck unloads now, maybe sooner than planned; an alert follows."""
        if self.reach() and self.sites:
            site = self.rng.choice(self.sites)
            self.dump(self.rng.choice(self.reach()), site)
            self.alert()

    def offline(self) -> None:
        """A truck's tablet out of coverage for 1 to 3 steps: its crew drives the route the
        tablet showed then (``held``; a reroute meanwhile does not reach it) and sends its
        visits made meanwhile when back, late, at their times, against that plan."""
        if not self.reach():
            return
        truck, plan = self.rng.choice(self.reach()), self.newest()
        for route in self.routes(plan)["routes"]:
            if route["vehicle_id"] == truck:
                self.held[truck] = (plan["id"], route["visits"])
        self.silent[truck] = self.rng.randint(1, 3)

    def position(self) -> None:
        if self.reach():
            lon, lat = self.spot()
            self.report(self.rng.choice(self.reach()), kind="position", lon=lon, lat=lat)
            self.alert()

    def breakdown(self) -> None:
        if len(self.up()) > 1:
            truck = self.rng.choice(self.up())
            r = self.call("POST", f"/vehicles/{truck}/downtimes", {"reason": "breakdown"})
            if r.status_code in (201, 202):
                self.down[truck] = r.json()["id"]
                self._broke_down(truck, datetime.fromisoformat(r.json()["start_at"]))

    def _broke_down(self, truck: str, at: datetime) -> None:
        """``truck``, out of coverage, broke down ``at``: its crew made the visits of its
        held route that ended by then (sent when its tablet is back), no more."""
        if truck in self.held:
            plan_id, visits = self.held[truck]
            made = [v for v in visits if datetime.fromisoformat(v["end"]) <= at]
            self.held[truck] = (plan_id, made)

    def repaired(self) -> None:
        if self.down:
            truck = self.rng.choice(sorted(self.down))
            r = self.call("POST", f"/vehicles/{truck}/downtimes/{self.down[truck]}/end", {})
            if r.status_code in (200, 202):
                del self.down[truck]

    def delete_bin(self) -> None:
        if len(self.live_bins()) > 3:
            b = self.rng.choice(self.live_bins())
            if self.call("DELETE", f"/bins/{b}").is_success:
                self.deleted.add(b)

    def alert_then_delete(self) -> None:
        """Two alerts, then one of their bins is deleted (while the reroute may run)."""
        if len(self.live_bins()) > 3:
            kept, gone = self.rng.sample(self.live_bins(), 2)
            self.alert(kept)
            self.alert(gone)
            if self.call("DELETE", f"/bins/{gone}").is_success:
                self.deleted.add(gone)

    def open_site(self) -> None:
        """A site listed, its id new today (a day after: maybe one closed the day before,
        listed again, now open: ``closed`` forgets it)."""
        site = f"s{len(self.sites) + len(self.closed) + 1}"
        lon, lat = self.new_site_at()
        body = {"site_id": site, "lon": lon, "lat": lat}
        if self.call("POST", "/sites", body).is_success:
            self.sites.append(site)
            self.site_at[site] = (lon, lat)
            self.closed.pop(site, None)

    def close_site(self) -> None:
        if self.sites:
            site = self.sites.pop(self.rng.randrange(len(self.sites)))
            if self.call("DELETE", f"/sites/{site}").is_success:
                self.closed[site] = self.now + timedelta(seconds=0.5)  # whole seconds

    def dismiss(self) -> None:
        alerts = self.call("GET", f"/alerts?plan_date={self.plan_date}").json()
        sent = [a for a in alerts if a["status"] in SENT]
        if sent:
            self.call("POST", f"/alerts/{self.rng.choice(sent)['id']}/dismiss")

    def replan(self) -> None:
        self.call("POST", "/plans", {"plan_date": self.plan_date, "time_limit_s": 1})

    def missed(self) -> None:
        """A crew could not empty its truck's next bin (a parked car): a stop passed."""
        if not self.reach():
            return
        truck, plan = self.rng.choice(self.reach()), self.newest()
        for route in self.routes(plan)["routes"]:
            to_do = self._to_do(plan["id"], route) if route["vehicle_id"] == truck else []
            if to_do and self.report(
                truck, kind="visit_missed", bin_id=to_do[0], reason="parked car"
            ):
                self.reported[truck].append(to_do[0])

    def listed_truck(self, truck: str) -> dict[str, Any]:
        """``truck``'s record as the service lists it, the fields a change sends back."""
        listed = self.call("GET", f"/vehicles/{truck}").json()
        return {k: listed[k] for k in KEPT}

    def change_truck(self) -> None:
        """The dispatcher changes a truck's volume, shift end or stop limit."""
        truck = self.rng.choice(self.trucks)
        body = self.listed_truck(truck)
        what = self.rng.choice(["capacity_l", "shift_end", "max_stops"])
        values: dict[str, list[Any]] = {
            "capacity_l": [2000, 5000, 12000],
            "shift_end": ["12:30", "13:00", "15:00"],
            "max_stops": [None, 3, 8],
        }
        body[what] = self.rng.choice(values[what])
        self.call("PUT", f"/vehicles/{truck}", body)

    def readings(self) -> None:
        bins = self.rng.sample(self.live_bins(), min(3, len(self.live_bins())))
        at = self.now.isoformat()
        fills = [round(self.rng.uniform(0.5, 1.05), 2) for _ in bins]
        rows = [
            {"bin_id": b, "at": at, "fill_fraction": f} for b, f in zip(bins, fills, strict=True)
        ]
        self.call("POST", "/readings", rows)

    def citizen(self) -> None:
        x, y = self.bins[self.rng.choice(self.live_bins())]
        rid = f"r{self.now:%H%M%S}{self.rng.randrange(1000)}"
        body = {"report_id": rid, "at": self.now.isoformat(), "lon": x + 0.0001, "lat": y}
        self.call("POST", "/reports", body)

    def add_truck(self) -> None:
        truck = f"v{len(self.trucks)}"
        if self.call("POST", "/vehicles", self.truck(truck)).is_success:
            self.trucks.append(truck)
            self.reported[truck], self.unloaded[truck] = [], Counter()

    def add_bin(self) -> None:
        b = f"b{len(self.bins)}"
        self.bins[b] = self.spot()
        if not self.call("POST", "/bins", self.bin(b)).is_success:
            self.deleted.add(b)
            return
        row = {"bin_id": b, "at": self.now.isoformat(), "fill_fraction": 0.95}
        self.call("POST", "/readings", [row])

    def maintenance(self) -> None:
        """A truck booked out of service later today, for half an hour to an hour and a half."""
        if len(self.up()) > 1:
            truck = self.rng.choice(self.up())
            start = self.now + timedelta(minutes=self.rng.randint(30, 120))
            end = start + timedelta(minutes=self.rng.randint(30, 90))
            body = {"start_at": start.isoformat(), "end_at": end.isoformat(), "reason": "service"}
            self.call("POST", f"/vehicles/{truck}/downtimes", body)

    # ---------------------------------------------------------------- records edited
    def move_bin(self) -> None:
        """The dispatcher puts a bin's record again: another place, size, service time and
        hours (a bin emptied today, or planned, or alerted, as it comes)."""
        if self.live_bins():
            b = self.rng.choice(self.live_bins())
            self.bins[b] = self.spot()
            self.call("PUT", f"/bins/{b}", self.bin(b))

    def edit_site(self) -> None:
        """The dispatcher changes a site's hours, unloading time or place."""
        if not self.sites:
            return
        site = self.rng.choice(self.sites)
        body: dict[str, Any] = self.call("GET", f"/sites/{site}").json()
        what = self.rng.choice(["hours", "unload_s", "place"])
        if what == "hours":
            hours = [("00:00", "23:59"), ("06:00", "12:00"), ("10:00", "18:00"), ("05:00", "11:00")]
            body["open_start"], body["open_end"] = self.rng.choice(hours)
        elif what == "unload_s":
            body["unload_s"] = self.rng.choice([300, 900, 1800])
        else:
            body["lon"], body["lat"] = self.site_at[site] = self.new_site_at()
        self.call("PUT", f"/sites/{site}", body)

    def relist_site(self) -> None:
        """A site deleted today listed again where it was (the deletion undone)."""
        if self.closed:
            site = self.rng.choice(sorted(self.closed))
            lon, lat = self.site_at[site]
            if self.call("POST", "/sites", {"site_id": site, "lon": lon, "lat": lat}).is_success:
                self.sites.append(site)
                self.closed.pop(site)

    def relist_bin(self) -> None:
        """A bin deleted today listed again under its id where it was (the deletion undone),
        its sensor reading it full: a new alert; its visits done today and its alerts
        closed with the deletion stay."""
        if self.deleted:
            b = self.rng.choice(sorted(self.deleted))
            if self.call("POST", "/bins", self.bin(b)).is_success:
                self.deleted.discard(b)
                row = {"bin_id": b, "at": self.now.isoformat(), "fill_fraction": 0.99}
                self.call("POST", "/readings", [row])

    def move_depot(self) -> None:
        """The dispatcher corrects a depot's place."""
        depot = self.rng.choice(self.depots)
        lon, lat = self.spot()
        self.call("PUT", f"/depots/{depot}", {"depot_id": depot, "lon": lon, "lat": lat})

    def move_truck(self) -> None:
        """A truck moved to another depot, d2 listed first when there is none."""
        if len(self.depots) == 1:
            lon, lat = self.spot()
            if self.call("POST", "/depots", {"depot_id": "d2", "lon": lon, "lat": lat}).is_success:
                self.depots.append("d2")
        truck = self.rng.choice(self.trucks)
        body = self.listed_truck(truck) | {"depot_id": self.rng.choice(self.depots)}
        self.call("PUT", f"/vehicles/{truck}", body)

    def events(self) -> list[Callable[[], None]]:
        wide = [self.missed, self.missed, self.change_truck, self.readings, self.citizen]
        wide += [self.add_truck, self.add_bin, self.maintenance, self.ahead, self.offline]
        edits = [self.move_bin, self.edit_site, self.relist_site, self.move_depot, self.move_truck]
        edits += [self.relist_bin]
        return (
            [
                self.alert,
                self.alert,
                self.off_route,
                self.off_route,
                self.twice,
                self.early,
                self.position,
                self.breakdown,
                self.repaired,
                self.delete_bin,
                self.alert_then_delete,
                self.open_site,
                self.close_site,
                self.dismiss,
                self.replan,
            ]
            + (wide if self.wide else [])
            + (edits if self.edits else [])
        )

    # ---------------------------------------------------------------- the promises
    def check(self, step: str) -> None:
        """After ``step``, jobs idle: no plan failed (but by design), the newest breaks no
        rule it does not explain, keeps what each truck did, sends no truck out of service,
        to a deleted bin or to a closed site, and every alert is settled and true to it."""
        plans = self.call("GET", f"/plans?plan_date={self.plan_date}").json()
        for p in plans:
            if p["status"] == "failed" and DELETED_MEANWHILE not in p["message"]:
                self.problems.append(f"{step}: plan {p['id']} failed: {p['message'][:200]}")
        plan = self.newest(plans)
        doc = self.routes(plan)
        broken = doc["violations"]
        if any(NO_BREAK in n for n in doc["notes"]):  # the break rule alone is explained
            broken = [v for v in broken if v["code"] != "break"]
        if broken and not any(OVERRUN in n for n in doc["notes"]):
            self.problems.append(f"{step}: plan {plan['id']} breaks {broken}")
        off, resent = self._off_route(plan) if self.busy or self.strayed else ({}, {})
        for route in doc["routes"]:
            truck = route["vehicle_id"]
            judged = (off.get(truck, Counter()), resent.get(truck, Counter()))
            self._check_route(step, plan["id"], route, judged)
        self._check_alerts(step, plan, doc)

    def _off_route(
        self, plan: dict[str, Any]
    ) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
        """The bins each truck emptied or passed off its route as the service judged them,
        resends aside, and the bins' reports the service took for resends (each: truck ->
        bin -> how many times)."""
        off: dict[str, Counter[str]] = {}
        resent: dict[str, Counter[str]] = {}
        for r in self.call("GET", f"/plans/{plan['id']}/progress").json():
            if r["bin_id"] is not None and (r["off_route"] or r["resend"]):
                out = resent if r["resend"] else off
                out.setdefault(r["vehicle_id"], Counter())[r["bin_id"]] += 1
        return off, resent

    def _check_route(
        self,
        step: str,
        plan_id: int,
        route: dict[str, Any],
        judged: tuple[Counter[str], Counter[str]],
    ) -> None:
        truck = route["vehicle_id"]
        bins = [v["bin_id"] for v in route["visits"] if v["kind"] == "bin"]
        mine = self.reported.get(truck, [])
        if self.busy or truck in self.strayed:  # reports against a plan replaced since
            rest = self._done_kept(step, truck, bins, mine, judged)
        else:
            if bins[: len(mine)] != mine:
                msg = f"{step}: {truck}'s route {bins} drops its visits done {mine}"
                self.problems.append(msg)
            rest = bins[len(mine) :]
        if truck in self.down and rest:
            self.problems.append(
                f"{step}: {truck}, broken down, is sent to {rest}; {self._trail(truck)}"
            )
        if self.deleted & set(rest):
            self.problems.append(f"{step}: {truck} is sent to deleted {self.deleted & set(rest)}")
        made = self._done_of(plan_id, truck)[1]  # its unloadings done stand as made
        for v in route["visits"]:
            if v["kind"] == "disposal" and made[v["ref"]] > 0:
                made[v["ref"]] -= 1
                continue
            shut = self.closed.get(v.get("ref", ""))
            if v["kind"] == "disposal" and shut and datetime.fromisoformat(v["start"]) > shut:
                closed = f"{step}: {truck} unloads at {v['ref']}, closed"
                self.problems.append(f"{closed}; {self._trail(truck)}")

    def _done_kept(
        self,
        step: str,
        truck: str,
        bins: list[str],
        mine: list[str],
        judged: tuple[Counter[str], Counter[str]],
    ) -> list[str]:
        """``truck``'s route (``bins``) less its visits done (``mine``, and the bins its crew
        took out of the route's order, ``taken``), a problem when one is neither on it nor
        judged off its route or a resend (``judged``: the counts of each, per bin). A crew
        reports by the plan its tablet shows, which a job running then may have replaced:
        the new plan may have the visit elsewhere, or not at all (the report is judged again
        by it, ``JobRunner._judge_again``: off the route). A bin taken out of order is mostly
        judged off the route; the plan of a job running then may have it next, and judge it
        on the route: a visit done there."""
        rest, off, resent = list(bins), Counter(judged[0]), Counter(judged[1])
        taken = self.taken.get(truck, [])
        for b in mine:
            if b in rest:
                rest.remove(b)
            elif not _judged_off(b, off, resent):
                return self._dropped(step, truck, bins, mine, rest)
        for b in taken:
            if _judged_off(b, off, resent):
                continue
            if b not in rest:
                return self._dropped(step, truck, bins, [*mine, *taken], rest)
            rest.remove(b)
        return rest

    def _dropped(
        self, step: str, truck: str, bins: list[str], done: list[str], rest: list[str]
    ) -> list[str]:
        """A problem: ``truck``'s route (``bins``) drops a visit ``done``; ``rest``."""
        self.problems.append(
            f"{step}: {truck}'s route {bins} drops its visits done {done}; {self._trail(truck)}"
        )
        return rest

    def _trail(self, truck: str) -> str:
        """What a failure of the busy days needs to be read (their jobs' order varies from
        run to run): ``truck``'s reports (id, what, the plan named, off route) and the day's
        plans (id, version, origin, parent, when finished, the truck's route there:
        :meth:`_work_of`)."""
        plans = self.call("GET", f"/plans?plan_date={self.plan_date}").json()
        newest = max(plans, key=lambda p: p["version"])
        reports = [
            (r["id"], r["kind"][:5], r["bin_id"] or r["site_id"], r["plan_id"], r["off_route"])
            for r in self.call("GET", f"/plans/{newest['id']}/progress").json()
            if r["vehicle_id"] == truck
        ]
        made = [
            (p["id"], p["version"], p["origin"], p["parent_id"], p.get("finished_at"), bins)
            for p in sorted(plans, key=lambda p: p["id"])
            for bins in [self._work_of(p, truck)]
        ]
        return f"reports {reports}; plans {made}"

    def _work_of(self, plan: dict[str, Any], truck: str) -> list[str]:
        """``truck``'s bins, unloadings (``@site``) and waypoints (``w``) in ``plan``, in
        order, for a trail (none while it is not done)."""
        if plan["status"] != "done":
            return []
        short = {"bin": "", "disposal": "@", "waypoint": "w"}
        return [
            short[v["kind"]] + str(v.get("bin_id") or v.get("ref") or "")
            for r in self.routes(plan)["routes"]
            if r["vehicle_id"] == truck
            for v in r["visits"]
            if v["kind"] in short
        ]

    def _check_alerts(self, step: str, plan: dict[str, Any], doc: dict[str, Any]) -> None:
        visits = {
            (v["bin_id"], r["vehicle_id"], datetime.fromisoformat(v["start"]))
            for r in doc["routes"]
            for v in r["visits"]
            if v["kind"] == "bin" and v.get("alert")
        }
        for a in self.call("GET", f"/alerts?plan_date={self.plan_date}").json():
            if a["status"] in ("open", "rerouting"):
                self.problems.append(f"{step}: alert {a['id']} still {a['status']}")
            if a["bin_id"] in self.deleted and a["status"] not in CLOSED:
                self.problems.append(f"{step}: alert {a['id']} of deleted {a['bin_id']} live")
            if a["status"] in SENT and a["plan_id"] == plan["id"]:
                eta = datetime.fromisoformat(a["eta"]) if a["eta"] else None
                if (a["bin_id"], a["vehicle_id"], eta) not in visits:
                    self.problems.append(f"{step}: alert {a['id']} names no visit of its plan")


class StreetDay(Day):
    """A day on a city's streets: every place near one of the street junctions of its part
    with streets open at some hours only (else its middle), a quarter of the bins taken
    from the kerb, and two in five placed on those timed streets when there are any."""

    def __init__(
        self, *args: Any, junctions: np.ndarray, timed: list[tuple[float, float]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.junctions, self.timed = junctions, timed  # (n, 2) lon, lat; points on them
        self.placed: set[str] = set()

    def spot(self) -> tuple[float, float]:
        lon, lat = self.junctions[self.rng.randrange(len(self.junctions))]
        return (
            float(lon) + self.rng.uniform(-3e-4, 3e-4),
            float(lat) + self.rng.uniform(-2e-4, 2e-4),
        )

    def home(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return self.spot(), self.spot()

    def new_site_at(self) -> tuple[float, float]:
        return self.spot()

    def bin(self, ref: str) -> dict[str, Any]:
        if ref not in self.placed and self.timed and self.rng.random() < 0.4:
            self.bins[ref] = self.timed[self.rng.randrange(len(self.timed))]
        self.placed.add(ref)
        return super().bin(ref) | ({"kerb_side": True} if self.rng.random() < 0.25 else {})


def _street_spots(streets: StreetNetwork) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The junctions (lon, lat) within about 1.5 km of the middle of the junctions on
    streets open at some hours only (of all of them when none is), and those on them."""
    points = np.column_stack([streets.table.node_lon, streets.table.node_lat])
    hours = streets.street_hours([(float(x), float(y)) for x, y in points])
    on = np.array([h is not None for h in hours], dtype=bool)
    mid = np.median(points[on] if on.any() else points, axis=0)
    near = (np.abs(points[:, 0] - mid[0]) < 0.02) & (np.abs(points[:, 1] - mid[1]) < 0.01)
    return points[near], [(float(x), float(y)) for x, y in points[near & on]]


def random_days(
    settings: Settings,
    seed: int,
    steps: int,
    *,
    days: int = 1,
    wide: bool = False,
    edits: bool = False,
    streets: StreetNetwork | None = None,
    busy: bool = False,
    tz: str | None = None,
    plan_date: str = PLAN_DATE,
) -> list[str]:
    """The problems of seed ``seed``'s ``days`` days of ``steps`` events each (haversine
    times, or ``streets``: a :class:`StreetDay`); ``edits``: records edited during the day
    too (bins, sites and depots put again, a deleted site listed again, trucks moved);
    ``busy``: half the events are not waited for, their jobs still running as the next
    reports and event come (judged by the plan those replace, :meth:`Day._done_kept`);
    ``tz``: the service's time zone (default the settings'), the reports sent at its
    local times; ``plan_date``: the first day driven (ISO date)."""
    quick = settings.model_copy(
        update={
            "max_time_limit_s": 2,
            "reroute_time_limit_s": 1,
            "timezone": tz or settings.timezone,
        }
    )
    app = create_app(quick)
    routing = (
        Routing.static(HaversineProvider()) if streets is None else Routing.on_streets(streets)
    )
    app.dependency_overrides[get_routing] = lambda: routing
    rng = random.Random(seed)
    with TestClient(app) as client:
        runtime = app.state.runtime
        if streets is None:
            day = Day(client, runtime, rng, wide, edits, busy, plan_date=plan_date)
        else:
            junctions, timed = _street_spots(streets)
            day = StreetDay(
                *(client, runtime, rng, wide, edits, busy),
                junctions=junctions,
                timed=timed,
                plan_date=plan_date,
            )
        day.seed()
        for n in range(days):
            if n:
                day.next_day()
            day.report_until_now()
            for step in range(steps):
                day.at(rng.randint(5, 40))
                day.report_until_now()
                event = rng.choice(day.events())
                event()
                if busy and step < steps - 1 and rng.random() < 0.5:
                    continue  # the next reports and event come while its jobs run
                day.idle()
                day.check(f"{day.plan_date} step {step} ({event.__name__})")
    return day.problems
