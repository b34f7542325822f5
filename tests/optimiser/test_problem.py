"""The problem's own objects: what survives pickling across versions."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from optimiser.problem import VehicleSpec, bin_of, next_visit_ref, visit_number, visit_ref


def test_vehicle_pickled_before_departed_s_existed_loads_with_its_default(kit) -> None:
    # the service pickles day plans and reroutes them later, maybe after an upgrade
    truck = kit.truck(departed_s=6 * kit.H)
    assert pickle.loads(pickle.dumps(truck)) == truck
    names = [f.name for f in dataclasses.fields(VehicleSpec)]
    older = truck.__getstate__()[: names.index("departed_s")]  # before departed_s existed
    loaded = VehicleSpec.__new__(VehicleSpec)
    loaded.__setstate__(older)
    assert loaded == dataclasses.replace(truck, departed_s=None)
    off = kit.truck(off_duty=True)  # and one pickled before off_duty existed
    loaded.__setstate__(off.__getstate__()[: names.index("off_duty")])
    assert loaded == dataclasses.replace(off, off_duty=False)


def test_vehicle_state_with_more_values_than_fields_is_refused(kit) -> None:
    state = [*kit.truck().__getstate__(), "unknown"]
    with pytest.raises(TypeError, match="does not fit"):
        VehicleSpec.__new__(VehicleSpec).__setstate__(state)


def test_visit_refs_name_their_bin() -> None:
    """The k-th visit of a bin in a day (k >= 2) is ``<bin>#k``; other '#' stay in the id."""
    assert [visit_ref("b7", k) for k in (1, 2, 3, 12)] == ["b7", "b7#2", "b7#3", "b7#12"]
    assert {bin_of(visit_ref("b7", k)) for k in (1, 2, 3, 12)} == {"b7"}
    assert bin_of("street#1") == "street#1" and bin_of("a#02") == "a#02"
    assert [visit_number(visit_ref("b7", k)) for k in (1, 2, 3, 12)] == [1, 2, 3, 12]
    assert visit_number("street#1") == visit_number("a#02") == 1


def test_the_next_visit_is_the_first_not_done() -> None:
    """Not the count of visits done: ``b3#2`` done alone leaves ``b3`` the next one."""
    assert next_visit_ref("b3", ()) == "b3"
    assert next_visit_ref("b3", {"b3", "b3#2", "b4"}) == "b3#3"
    assert next_visit_ref("b3", {"b3#2"}) == "b3"
    assert next_visit_ref("b3", {"b3", "b3#3"}) == "b3#2"
