"""The disposal sites as listed now, during a day being driven: a site changed since the
plan keeps its old record up to the unloadings done there (one planned after them goes by
the new one), a site deleted stays on closed for what was done, and an unloading time or
hours changed under a truck's visit are said in a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from fleet.models import (
    Inventory,
)
from optimiser.build import (
    BuiltProblem,
    site_spec,
)
from optimiser.daily.dayplan import DayPlan, Provider
from optimiser.daily.places import _off_map_note, _placed_now
from optimiser.plan import (
    Plan,
    VisitKind,
    clock,
)
from optimiser.problem import (
    Site,
)
from optimiser.reroute import (
    Progress,
    visits_done,
)


def _current_sites(
    built: BuiltProblem,
    inventory: Inventory,
    provider: Provider,
    now_s: int,
    day: DayPlan,
    progress: Sequence[Progress],
) -> BuiltProblem:
    """``built`` with the disposal sites ``inventory`` lists now, each with its listed
    position, streams, hours and unloading time, and a note per site added, changed or gone
    (appended to its ``notes``). A site moved since (a position corrected) gets a new row
    where it is. A site changed keeps the record its unloadings done today were made under
    (their row too) behind the new one (:func:`_site_from`). A site gone from the list is
    closed from ``now_s``: kept with its hours ending then, for the unloadings done there
    and so that every later plan of the day knows it had one (the trucks come back loaded,
    saying so, when it was the last: :func:`_loaded_back`); one added gets a matrix row."""
    tz = ZoneInfo(day.tz_name)
    listed = {s.site_id: s for s in inventory.sites}
    places = {ref: (s.lon, s.lat) for ref, s in listed.items()}
    built, rows, _, far = _placed_now(built, "site", places, provider)
    made = _unloadings_done(day.plan, progress)
    had = {s.ref for s in built.problem.sites}
    sites, notes = [], []
    for site in built.problem.sites:
        if site.ref in listed:
            now = site_spec(listed[site.ref], rows[site.ref], plan_date=day.plan_date, tz=tz)
            kept, note = _site_from(site, now, now_s, made.get(site.ref))
            sites.append(kept)
            notes += [note] if note else []
            continue
        lo, hi = site.window_s
        closed_s = max(lo, min(hi, now_s))  # a site kept closed stays closed from then
        notes.append(
            f"disposal site {site.ref} is no longer listed: no truck unloads there from "
            f"{clock(closed_s)}"
        )
        shut_s = min(hi, now_s)  # gone before it opened: it opens no more
        window_s = (min(lo, shut_s), shut_s)
        sites.append(_unlisted(site, window_s, closed_s, made.get(site.ref)))
    for ref in listed.keys() - had:
        if ref in rows:
            sites.append(site_spec(listed[ref], rows[ref], plan_date=day.plan_date, tz=tz))
            notes.append(f"disposal site {ref} was added: trucks may unload there")
    for ref, off in far.items():
        then = "trucks unload where it was" if ref in rows else "no truck unloads there"
        notes.append(_off_map_note(f"disposal site {ref}", off, then, now=True))
    problem = dataclasses.replace(built.problem, sites=tuple(sites))
    return dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))


def _unlisted(site: Site, window_s: tuple[int, int], closed_s: int, made_s: int | None) -> Site:
    """Disposal site ``site`` taken off the list at ``closed_s`` (seconds since local
    midnight), its hours now ``window_s``; the unloadings done there (the last one started
    at ``made_s``, maybe after then: reported before its planned time) stand as made
    (:func:`_made_under`)."""
    closed = dataclasses.replace(site, window_s=window_s, unlisted_s=closed_s)
    return _made_under(closed, site, window_s[1], made_s)


def _made_under(now: Site, before: Site, from_s: int, made_s: int | None) -> Site:
    """Disposal site record ``now``, holding from ``from_s`` (seconds since local midnight),
    with the record ``before`` it kept for the unloadings done there (the last one started
    at ``made_s``; none: None): they stand as made, judged by it, also one timed after
    ``from_s`` (``Site.since_s``, :meth:`optimiser.problem.Site.at`). New unloadings then
    start after that one's start (its hours narrowed so: reported before its planned
    start, it may be timed later than a truck could unload next; before, such an
    unloading, planned under ``now``, was judged by ``before``)."""
    if made_s is None:
        return now
    since_s = max(from_s, made_s + 1)
    hours = _opening_from(now.window_s, since_s) if since_s > from_s else now.window_s
    return dataclasses.replace(now, since_s=since_s, before=before, window_s=hours)


def _opening_from(window_s: tuple[int, int], since_s: int) -> tuple[int, int]:
    """Hours ``window_s`` (seconds since local midnight) opening at ``since_s`` at the
    earliest (and at their end at the latest)."""
    lo, hi = window_s
    return min(max(lo, since_s), hi), hi


# what a site is listed with that its unloadings are judged by (names for notes)
SITE_FIELDS = {
    "location": "position",
    "streams": "streams",
    "window_s": "hours",
    "unload_s": "unloading time",
}


def _site_from(site: Site, listed: Site, now_s: int, made_s: int | None) -> tuple[Site, str | None]:
    """Disposal site ``site`` of a day being driven with its record as ``listed`` now, and
    a note when it changed, or was listed again after it was taken off the list
    (``Site.unlisted_s``): the new one holds from ``now_s`` (seconds since local
    midnight). Where trucks unloaded today (the last unloading done there started at
    ``made_s``, as the day has it) the record they unloaded under is kept for those
    unloadings (``Site.before``): they stand as made."""
    changed = [f for f in SITE_FIELDS if getattr(site, f) != getattr(listed, f)]
    if "window_s" in changed and site.window_s == _opening_from(listed.window_s, site.since_s):
        changed.remove("window_s")  # its hours as listed, opening after an unloading done
    if site.unlisted_s is not None:  # its hours were cut short when taken off the list
        note = _listed_again_note(site.ref, listed, now_s)
    elif changed:
        names = ", ".join(SITE_FIELDS[f] for f in changed)
        note = f"disposal site {site.ref}'s {names} changed as of {clock(now_s)}"
    else:
        return site, None
    if made_s is None:
        return listed, note
    kept = _made_under(listed, site, now_s, made_s)
    note += "; the unloadings done there before stand as made"
    if kept.since_s > now_s:  # the last one done is timed later: reported before its time
        note += f", new ones start from {clock(kept.since_s)}"
    return kept, note


def _listed_again_note(ref: str, listed: Site, now_s: int) -> str:
    """What a re-plan says of disposal site ``ref`` listed again (as ``listed``) at
    ``now_s`` (seconds since local midnight) after it was taken off the list that day."""
    lo, hi = listed.window_s
    if hi < now_s:
        return f"disposal site {ref} is listed again, its hours over for today"
    return (
        f"disposal site {ref} is listed again: trucks may unload there from {clock(max(lo, now_s))}"
    )


def _unloadings_done(plan: Plan, progress: Sequence[Progress]) -> dict[str, int]:
    """When the last unloading done at each site started (site ref -> seconds since local
    midnight): among the visits of each route of ``plan`` its truck's progress reports done
    (:func:`optimiser.reroute.visits_done`, the rule of reroutes)."""
    done = {p.vehicle_ref: len(p.done) for p in progress}
    out: dict[str, int] = {}
    for route in plan.routes:
        for v in visits_done(route, done.get(route.vehicle_ref, 0)):
            if v.kind is VisitKind.DISPOSAL:
                out[v.ref] = max(out.get(v.ref, v.start_s), v.start_s)
    return out
