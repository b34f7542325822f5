"""Stored day plans survive an upgrade that adds or removes dataclass fields."""

from __future__ import annotations

import dataclasses
import pickle
import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from api.state import StateError, _rebuild, dumps, loads
from network.matrix import TravelMatrix
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind, Visit, VisitKind

MODULE = "tests_api_state_versions"  # a stand-in module whose class changes between versions


@pytest.fixture
def versions() -> Iterator[types.ModuleType]:
    module = types.ModuleType(MODULE)
    sys.modules[MODULE] = module
    yield module
    del sys.modules[MODULE]


def _define(module: types.ModuleType, **fields: object) -> Any:
    """(Re)define ``module.Record``, a frozen slotted dataclass with ``fields`` (name ->
    default, or ``dataclasses.MISSING`` for none), as a new version of the code would."""
    spec = [
        (name, int)
        if default is dataclasses.MISSING
        else (name, int, dataclasses.field(default=default))
        for name, default in fields.items()
    ]
    cls = dataclasses.make_dataclass("Record", spec, frozen=True, slots=True, kw_only=True)
    cls.__module__ = MODULE
    module.Record = cls  # type: ignore[attr-defined]
    return cls


def test_a_field_added_after_storing_gets_its_default(versions: types.ModuleType) -> None:
    old = _define(versions, ref=dataclasses.MISSING, volume_l=0)
    stored = dumps([old(ref=1, volume_l=5)])
    new = _define(versions, ref=dataclasses.MISSING, volume_l=0, departed_s=-1)
    (record,) = loads(stored)
    assert isinstance(record, new)
    assert (record.ref, record.volume_l, record.departed_s) == (1, 5, -1)


def test_plain_pickle_leaves_such_a_field_unset(versions: types.ModuleType) -> None:
    """Why the module exists: Python's own pickle of a slotted dataclass is positional."""
    old = _define(versions, ref=dataclasses.MISSING)
    stored = pickle.dumps(old(ref=1))
    _define(versions, ref=dataclasses.MISSING, departed_s=-1)
    record = pickle.loads(stored)
    with pytest.raises(AttributeError):
        _ = record.departed_s


def test_a_field_removed_after_storing_is_dropped(versions: types.ModuleType) -> None:
    old = _define(versions, ref=dataclasses.MISSING, legacy=3)
    stored = dumps(old(ref=1, legacy=4))
    _define(versions, ref=dataclasses.MISSING)
    record = loads(stored)
    assert record.ref == 1 and not hasattr(record, "legacy")


def test_a_new_field_without_default_is_a_clear_error(versions: types.ModuleType) -> None:
    old = _define(versions, ref=dataclasses.MISSING)
    stored = dumps(old(ref=1))
    _define(versions, ref=dataclasses.MISSING, needed=dataclasses.MISSING)
    with pytest.raises(StateError, match=r"'needed'.*plan the day again"):
        loads(stored)


def test_a_plan_round_trips_and_shared_objects_stay_shared() -> None:
    start = Visit(kind=VisitKind.START, ref="t1", location=0, arrival_s=0, start_s=0, end_s=0)
    route = Route(vehicle_ref="t1", visits=(start, start), distance_m=0, duration_s=0, cost=0)
    plan = Plan(status=PlanStatus.FEASIBLE, routes=(route,), notes=("n",))
    back = loads(dumps(plan))
    assert back == plan
    assert back.routes[0].visits[0] is back.routes[0].visits[1]


def test_a_plain_pickle_of_an_earlier_version_still_loads() -> None:
    plan = Plan(status=PlanStatus.FEASIBLE, routes=())
    assert loads(pickle.dumps(plan)) == plan


class _StoredUnserved:
    """An unserved entry as a version before kinds stored it (``dumps``: its class and
    its fields by name, ``ref`` and ``reason`` alone)."""

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild, (Unserved, {"ref": "b1", "reason": "could not fit in any route"})


def test_an_unserved_entry_stored_before_kinds_loads_with_kind_other() -> None:
    (u,) = loads(pickle.dumps([_StoredUnserved()]))
    assert u == Unserved(ref="b1", reason="could not fit in any route")
    assert (u.kind, u.rules) == (UnservedKind.OTHER, ())
    kept = Unserved(ref="b2", reason="r", kind=UnservedKind.TOO_BIG, rules=("shift",))
    assert loads(dumps(kept)) == kept


def _city_matrix(n: int = 80) -> TravelMatrix:
    """A seeded n-point matrix of a city's sizes: up to 1 h in seconds, 40 km in metres."""
    rng = np.random.default_rng(4)
    dur = rng.integers(1, 3600, (n, n), dtype=np.int64)
    dist = rng.integers(1, 40_000, (n, n), dtype=np.int64)
    np.fill_diagonal(dur, 0)
    np.fill_diagonal(dist, 0)
    return TravelMatrix(duration_s=dur, distance_m=dist, points=((0.0, 0.0),) * n)


def test_travel_matrices_are_stored_narrow_and_read_back_as_they_were() -> None:
    """A day plan's travel matrices (int64) are stored in int16 (seconds up to 1 h) and
    int32 (metres up to 40 km): 6 bytes for each pair of entries instead of 16 (under 0.4
    of the plain pickle). They read back as int64 arrays equal to the originals, read-only
    as a TravelMatrix keeps them, the one matrix shared where it was shared."""
    m = _city_matrix()
    data = dumps((m, m))
    assert len(data) < 0.4 * len(pickle.dumps((m, m), protocol=pickle.HIGHEST_PROTOCOL))
    back, again = loads(data)
    assert back is again
    for name in ("duration_s", "distance_m"):
        got, want = getattr(back, name), getattr(m, name)
        assert got.dtype == np.int64 and np.array_equal(got, want)
        assert not got.flags.writeable


def test_int64_arrays_that_do_not_fit_narrower_or_are_small_are_stored_as_they_are() -> None:
    """Values beyond int32 keep their eight bytes; a writeable array stays writeable, and
    a small one is not worth narrowing."""
    big = np.arange(5000, dtype=np.int64) * 10**7  # up to 5e10
    small = np.arange(10, dtype=np.int64)
    wide = np.arange(5000, dtype=np.int64)
    data = dumps((big, small, wide))
    assert len(data) > big.nbytes
    got_big, got_small, got_wide = loads(data)
    assert np.array_equal(got_big, big) and got_big.dtype == np.int64
    assert np.array_equal(got_small, small) and np.array_equal(got_wide, wide)
    assert got_wide.dtype == np.int64 and got_wide.flags.writeable
