"""Kerb-side bins: telling the travel-time source which points a truck takes from the kerb,
and saying when it cannot honour that (straight-line times, a bin on the centre line)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from fleet.models import Bin
from network.matrix import TravelMatrix

Point = tuple[float, float]
NAMED = 5  # bins a note names before "and N more"


def takes_kerb(provider: Callable[..., Any]) -> bool:
    """Whether ``provider`` (a matrix provider, or its ``extend``) takes ``kerb_side``: a
    street network's does; a straight-line estimate knows no street sides."""
    try:
        params = inspect.signature(provider).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "kerb_side" or p.kind is p.VAR_KEYWORD for p in params)


def travel_matrix(
    provider: Callable[..., TravelMatrix], points: Sequence[Point], kerb_side: Sequence[bool]
) -> TravelMatrix:
    """``provider(points)``, with the kerb flags (one per point) when some point has one and
    the provider takes them."""
    if any(kerb_side) and takes_kerb(provider):
        return provider(points, kerb_side=list(kerb_side))
    return provider(points)


def extended_matrix(
    provider: Callable[..., TravelMatrix],
    matrix: TravelMatrix,
    points: Sequence[Point],
    kerb_side: Sequence[bool],
) -> TravelMatrix:
    """``matrix`` with ``points`` appended (flagged by ``kerb_side``): only the new rows and
    columns when the provider can (``extend``; the old points keep their flags, in
    ``matrix.kerb_side``), else all recomputed."""
    if not points:
        return matrix
    extend = getattr(provider, "extend", None)
    if extend is not None:
        if any(kerb_side) and takes_kerb(extend):
            return extend(matrix, points, kerb_side=list(kerb_side))  # type: ignore[no-any-return]
        return extend(matrix, points)  # type: ignore[no-any-return]
    old = list(matrix.kerb_side) or [False] * matrix.size
    return travel_matrix(provider, [*matrix.points, *points], [*old, *kerb_side])


def kerb_notes(provider: Callable[..., Any], bins: Sequence[Bin]) -> tuple[str, ...]:
    """What a plan says of the kerb-side ``bins`` it routes when the rule cannot bind: the
    travel times know no street sides, or a bin stands on its street's centre line (or past
    its end), so no side tells which way to pass it (the provider's ``sideless``)."""
    kerb = [b for b in bins if b.kerb_side]
    if not kerb:
        return ()
    if not takes_kerb(provider):
        ids = [b.bin_id for b in kerb]
        return (
            f"{named_bins(ids)} to be taken from the kerb, but these travel times are "
            f"straight-line estimates with no street sides: trucks may pass {_them(ids)} "
            "either way",
        )
    sideless = getattr(provider, "sideless", None)
    if sideless is None:
        return ()
    ids = [kerb[i].bin_id for i in sideless([(b.lon, b.lat) for b in kerb])]
    if not ids:
        return ()
    one = len(ids) == 1
    return (
        f"{named_bins(ids)} to be taken from the kerb, but {'it stands' if one else 'each stands'} "
        "on its two-way street's centre line (or past its end), on neither kerb: trucks may "
        f"pass {_them(ids)} either way; move {'it' if one else 'each'} to the kerb it "
        "stands at",
    )


def _them(ids: Sequence[str]) -> str:
    return "it" if len(ids) == 1 else "them"


def named_bins(ids: Sequence[str]) -> str:
    """'bin a is', 'bins a, b are' or 'bins a, b, c, d, e and 3 more are'."""
    if len(ids) == 1:
        return f"bin {ids[0]} is"
    more = f" and {len(ids) - NAMED} more" if len(ids) > NAMED else ""
    return f"bins {', '.join(ids[:NAMED])}{more} are"
