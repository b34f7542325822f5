"""A route's visits kept as far as they are valid (:func:`feasible_prefix`,
:func:`feasible_subsequence`), each closed by the unloading it must end with
(:func:`with_final_unload`), and verified with ``check.check_route``.
"""

from __future__ import annotations

from optimiser.check import check_route, time_route
from optimiser.plan import VisitKind
from optimiser.problem import Problem, Site, VehicleSpec
from optimiser.screen import _leaves_s, needs_disposal, usable_sites

_WORK = (VisitKind.BIN, VisitKind.DISPOSAL)


def _valid(problem: Problem, v: VehicleSpec, refs: list[str]) -> bool:
    return not check_route(problem, v, time_route(problem, v, refs))


def with_final_unload(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """``refs`` ending at a site if the truck carries anything and must return empty: the
    site of the shortest detour home among those it can still reach before they close
    (:func:`_closed_to`), else of all it may use. (The nearest closed already: a loaded
    truck with no bins left, ready at 13:19:54 when its nearest site was taken off the
    list, got no start, greedy's or a reroute's, and the search found none within 5 s.)"""
    sites = {s.ref for s in problem.sites}
    loaded = bool(refs) or v.starts_loaded
    if not needs_disposal(problem, v) or not loaded or (refs and refs[-1] in sites):
        return refs
    usable = usable_sites(problem, v)
    if not usable:
        return refs
    dur = problem.matrix.duration_s
    last = problem.stop(refs[-1]).location if refs else v.start
    best = min(
        usable,
        key=lambda s: (
            _closed_to(problem, v, s),
            int(dur[last, s.location] + dur[s.location, v.end]),
        ),
    )
    return [*refs, best.ref]


def _closed_to(problem: Problem, v: VehicleSpec, site: Site) -> bool:
    """Whether truck ``v`` reaches ``site`` after its hours end even straight from where it
    sets out, when it may leave (:func:`optimiser.screen._leaves_s`; seconds since local
    midnight)."""
    return _leaves_s(v) + int(problem.matrix.duration_s[v.start, site.location]) > site.window_s[1]


def feasible_prefix(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """The longest valid prefix of ``refs`` (plus a final unload when needed).

    Routes are timed with ``check.time_route`` and verified with ``check.check_route``;
    a binary search on the prefix length keeps this to a few checks. Returns [] when not
    even the shortest route is valid.
    """
    if _valid(problem, v, refs):
        return refs
    lo, hi = 0, len(refs)  # prefix lo: assumed valid; prefix hi: not valid
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _valid(problem, v, with_final_unload(problem, v, refs[:mid])):
            lo = mid
        else:
            hi = mid
    best = with_final_unload(problem, v, refs[:lo])
    return best if _valid(problem, v, best) else []


def feasible_subsequence(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """``refs`` in their order less each one that would make the route invalid (plus a final
    unload when needed): a stop kept when the route so far with it is valid.

    Unlike :func:`feasible_prefix`, a stop no longer possible (its window passed, say) does
    not cost the ones after it; a site visit the truck would reach empty (an unloading
    planned after bins so left out) is dropped too. Takes one check per ref; returns []
    when not even the shortest route is valid.
    """
    if _valid(problem, v, refs):
        return refs
    kept: list[str] = []
    for ref in refs:
        if _valid(problem, v, with_final_unload(problem, v, [*kept, ref])):
            kept.append(ref)
    best = with_final_unload(problem, v, _no_empty_unloads(problem, v, kept))
    return best if _valid(problem, v, best) else []


def _no_empty_unloads(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """``refs`` less the site visits truck ``v`` reaches carrying nothing."""
    work = [x for x in time_route(problem, v, refs).visits if x.kind in _WORK]
    loaded, out = v.starts_loaded, []
    for ref, visit in zip(refs, work, strict=True):
        if visit.kind is VisitKind.DISPOSAL and not loaded:
            continue
        out.append(ref)
        loaded = bool(visit.volume_l or visit.weight_kg)
    return out
