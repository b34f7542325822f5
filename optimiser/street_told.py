"""What a plan tells of a timed street on one day (:class:`TimedDay`, :func:`told_day`) and of
a depot or disposal site on one (:class:`PlaceHours`); the hours themselves are reckoned in
:mod:`optimiser.street_hours`. Times are local clock times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from network.hours import TimedStreet, clock, describe, spans_text
from network.language import direction_words
from optimiser.problem import CLOSED_ALL_DAY_S

CLOSED_STREET = "its street is closed to trucks whenever they work today"
"""The start of the reason of a bin that cannot be emptied for its street's hours."""


@dataclass(frozen=True, slots=True)
class TimedDay:
    """A timed street's hours on one day, as a plan tells them.

    Attributes
    ----------
    street : str
        Its name ("" when it has none).
    spans_s : tuple of (int, int)
        The spans it is open to trucks that day, local clock seconds since midnight
        (none: closed all day).
    rule : str
        Its tags as the sign reads (``network.hours.describe``), and those of the streets it
        is reached through (with several rules, each in brackets after its street's name).
    day : date
        The day.
    through : tuple of tuple of str
        The ways it is reached and left through other timed streets, each the names of its
        streets (``network.hours.TimedStreet.through``; "" for one without a name): a truck
        takes any one.
    """

    street: str
    spans_s: tuple[tuple[int, int], ...]
    rule: str
    day: date
    through: tuple[tuple[str, ...], ...] = ()

    @property
    def text(self) -> str:
        """As the plan's notes say it: "Hauptstraße, open to trucks 06:00-11:00 on Monday
        (motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no)"."""
        return f"{self.name}, open to trucks {self.hours} on {self.day:%A} ({self.rule})"

    @property
    def name(self) -> str:
        """Its name, and the streets it is reached through: "Yard Road (reached through
        Market Lane)", "... (reached through Market Lane or Church Lane)"."""
        own = self.street or "an unnamed street"
        if not self.through:
            return own
        return f"{own} (reached through {_ways(self.through)})"

    @property
    def hours(self) -> str:
        """``06:00-11:00, 19:00-24:00``, or ``at no time``."""
        return spans_text(self.spans_s) if self.spans_s else "at no time"

    def json(self) -> dict[str, object]:
        """plan.json's ``street_open`` of a visit: ``street``, ``hours`` (``[["06:00",
        "11:00"], ...]``, local clock), ``rule`` and, for a street reached through other
        timed streets, ``through``: its ways, each a list of their names."""
        doc: dict[str, object] = {
            "street": self.street,
            "hours": [[clock(a), clock(b)] for a, b in self.spans_s],
            "rule": self.rule,
        }
        if self.through:
            doc["through"] = [list(way) for way in self.through]
        return doc


def _ways(ways: Sequence[Sequence[str]]) -> str:
    """ "Market Lane and an unnamed street", "Market Lane or Church Lane"."""
    words = direction_words("en")
    return words.either([words.listing([s or "an unnamed street" for s in way]) for way in ways])


def told_day(timed: TimedStreet, day: date) -> TimedDay:
    """What a plan tells of ``timed`` on ``day``: its hours (``TimedStreet.open_on``: its
    street's, and those of one of its ways in and out through other timed streets), the
    names of those ways' streets, and the rules as the signs read (each after its street's
    name when there are several)."""
    spans = tuple(timed.open_on(day))
    streets = [(timed.street, timed.rule)] if timed.rule else []
    streets += list(dict.fromkeys(street for way in timed.through for street in way))
    if len({rule for _, rule in streets}) == 1:
        rule = describe(streets[0][1])
    else:
        rule = ", ".join(f"{name or 'an unnamed street'} [{describe(r)}]" for name, r in streets)
    ways = tuple(tuple(dict.fromkeys(name for name, _ in way)) for way in timed.through)
    return TimedDay(timed.street, spans, rule, day, ways)


@dataclass(frozen=True, slots=True)
class PlaceHours:
    """A depot's or disposal site's street hours on one day.

    Attributes
    ----------
    kind : str
        "depot" or "site".
    ref : str
        Its id.
    told : TimedDay
        Its timed street (or the timed streets it is reached through) and their hours.
    window : (int, int) or None
        Local clock seconds: of a site, the (earliest, latest) start of an unload (its own
        opening included); of a depot, the span its trucks may leave it and be back in,
        driving out and in. None: none that day within the trucks' shifts.
    outside : (int, int) or None
        Of a site without a ``window``, the span it may be used in that day outside the
        trucks' shifts (None: none at all, ``problem.CLOSED_ALL_DAY_S``).
    """

    kind: str
    ref: str
    told: TimedDay
    window: tuple[int, int] | None
    outside: tuple[int, int] | None = None

    @property
    def opening(self) -> tuple[int, int]:
        """A site's unloading window that day (local clock seconds): :attr:`window`, else
        :attr:`outside`, else closed all day."""
        return self.window or self.outside or CLOSED_ALL_DAY_S

    @property
    def name(self) -> str:
        """ "depot d1", "disposal site s1"."""
        return f"{'depot' if self.kind == 'depot' else 'disposal site'} {self.ref}"

    def note(self) -> str:
        """What a plan says of it."""
        if self.window is None:
            closed = f"{CLOSED_STREET}: {self.told.text}"
            if self.kind == "site":
                return f"{self.name} is not used today: {closed}"
            return f"the trucks of {self.name} do not work today: {closed}"
        if self.kind == "site":
            return (
                f"{self.name} is on {self.told.text}: unloading there is timed to be done "
                "within those hours"
            )
        return (
            f"{self.name} is on {self.told.text}: its trucks leave it and are back within "
            f"{spans_text([self.window])}"
        )
