"""The refs of the bins chosen again in a re-plan (``optimiser.daily.driven``)."""

from __future__ import annotations

import pytest

from optimiser.daily.driven import _after_done, _last_visits
from optimiser.problem import Stop


def _stop(ref: str) -> Stop:
    return Stop(ref=ref, location=1, volume_l=120, weight_kg=12, service_s=30)


@pytest.mark.parametrize(
    ("chosen", "done", "ref"),
    [
        ("b3", (), "b3"),
        ("b3", ("b3",), "b3#2"),
        ("b3", ("b3", "b3#2"), "b3#3"),
        ("b3", ("b3#2",), "b3#3"),  # before: "b3#2", the visit done's ref
        ("b3#2", ("b3#2",), "b3#4"),  # the decision's second visit, after the one done
        ("b3", ("b1", "b1#2", "s1"), "b3"),
    ],
)
def test_a_bin_chosen_again_follows_its_last_visit_done(
    chosen: str, done: tuple[str, ...], ref: str
) -> None:
    """A bin chosen again in a re-plan follows its last visit done today, not the count of
    its visits done: a truck may do a bin's second visit while another truck's first is
    not done, and a new visit ``b3#2`` beside the ``b3#2`` done failed every re-plan of
    the day ("stop ref 'b3#2' appears twice"; Heidelberg seed 91 of the service's random
    days with records edited)."""
    last = _last_visits(done)
    assert _after_done(_stop(chosen), last.get("b3", 0)).ref == ref
