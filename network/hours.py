"""Street hours: when a waste truck may drive a street whose access depends on the time.

OpenStreetMap tags such streets with conditional restrictions: ``motor_vehicle:conditional=
destination @ (Mo-Sa 06:00-11:00)`` on a pedestrian zone (delivery hours), ``hgv:conditional=
no @ (19:00-06:00)`` (a night ban), ``motor_vehicle:conditional=no @ (Sa,Su,PH 07:00-20:00)``
(a road closed for leisure at weekends), ``access:conditional=no @ (7:30-19:00 AND
weight>7.5)``. This module is the one adapter of the opening_hours engine (opening-hours-py,
the Rust parser of the OSM ``opening_hours`` grammar): it reads those tags into a street's
*rule* when the way is prepared (:func:`way_rule`, a short JSON text kept on each edge of
the way) and tells, for a day, the times trucks may be on it (:func:`open_intervals`).

The tags are read as OSM defines them: of the access keys the most specific one the way
has holds (``hgv`` before ``motor_vehicle`` before ``vehicle`` before ``access``,
``speeds.truck_access``), a key's ``:conditional`` value replacing its plain value while a
condition holds, the last of its clauses that holds winning. A clause's condition is a
time (opening_hours syntax), optionally with ``AND weight>N`` (tonnes: it holds for a truck
heavier than that, ``GraphSettings.truck_weight_kg``). Clauses with other conditions
(``wet``, ``snow``, a length or occupancy) or whose time will never hold again (a closure
in 2016) are ignored. Public holidays (``PH``) are those of the street's country (the
engine's calendars, found from its coordinates, :func:`place_of`); when a way is prepared
none is known (its week is read without them). Times are local clock times of the city.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import opening_hours
from opening_hours import OpeningHours, State

from network.speeds import (
    ACCESS_KEYS,
    TIMED_HIGHWAYS,
    GraphSettings,
    closed_to_trucks,
    is_truck_way,
    local_value,
)

CONDITIONAL_KEYS = tuple(f"{key}:conditional" for key in ACCESS_KEYS)
DAY_S = 86_400
WEEK_DAYS = 7  # days scanned when a way is prepared: does its access change in a week?
# what the engine raises on a text it cannot read (ParserError is missing from its stubs)
PARSE_ERRORS: tuple[type[Exception], ...] = (
    getattr(opening_hours, "ParserError", SyntaxError),
    SyntaxError,
    ValueError,
)
_WEIGHT = re.compile(r"^weight\s*>\s*(\d+(?:\.\d+)?)\s*(t)?$", re.IGNORECASE)
_SPLIT_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_HOLIDAYS = re.compile(r"\bPH\b")  # public holidays in an opening_hours text
_YEAR = re.compile(r"\b(19|20)\d\d\b")

Place = tuple[float, float]  # (lon, lat), rounded: its country's public holidays hold
Rule = list[tuple[str, str | None, list[tuple[str, str]]]]
"""A street's rule: per access key (most specific first) its plain value (None: not
tagged) and its conditional clauses (access value, opening_hours text), in tag order."""


def split_clauses(value: str) -> list[str]:
    """The ``;``-separated clauses of a ``:conditional`` value, ``;`` inside parentheses
    (``no @ (Mo-Fr 07:00-09:00; Sa 08:00-12:00)``) kept in its clause."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(value):
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            out.append(value[start:i])
            start = i + 1
    out.append(value[start:])
    return [c.strip() for c in out if c.strip()]


def parse_clause(clause: str, settings: GraphSettings, today: date) -> tuple[str, str] | None:
    """(access value, opening_hours text) of one conditional clause (``value @ condition``)
    for the trucks of ``settings``; None when it never holds for them: a condition that is
    not a time (``wet``), a weight the truck is not over, or a time that will not come again
    after ``today`` (unparsable times are ignored too)."""
    value, at, condition = clause.partition("@")
    if not at or not value.strip():
        return None
    text = condition.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    hours = []
    for part in _SPLIT_AND.split(text):
        weight = _WEIGHT.match(part.strip())
        if weight is None:
            hours.append(part.strip())
        elif settings.truck_weight_kg <= float(weight.group(1)) * 1000.0:
            return None  # the truck is not heavier than the limit: the clause is not its
    if len(hours) != 1 or not _comes_again(hours[0], today):
        return None
    return value.strip(), hours[0]


def _comes_again(hours: str, today: date) -> bool:
    """Whether the opening_hours text ``hours`` parses and holds at some time from
    ``today`` on (a closure of a past year does not; public holidays, ``PH``, which no
    place is known here to tell, come every year)."""
    try:
        oh = _hours(hours)
    except PARSE_ERRORS:
        return False
    start = datetime.combine(today, time(0))
    if oh.is_open(start) or oh.next_change(start) is not None:
        return True
    return _HOLIDAYS.search(hours) is not None and _YEAR.search(hours) is None


@functools.lru_cache(maxsize=4096)
def _hours(text: str, place: Place | None = None) -> OpeningHours:
    """The opening_hours ``text``; at ``place`` (lon, lat), its country's public holidays
    are known (``PH``), else none is."""
    if place is None:
        return OpeningHours(text)
    return OpeningHours(text, coords=(place[1], place[0]), auto_country=True, auto_timezone=False)


def place_of(lon: float, lat: float) -> Place:
    """(lon, lat) rounded to 0.1 degree: where a street's public holidays are looked up
    (its country), coarse enough that a city's streets share their parsed rules."""
    return (round(lon, 1), round(lat, 1))


def rule_text(tags: Mapping[str, str], settings: GraphSettings, today: date) -> str:
    """The access tags of a way for the trucks of ``settings`` as a rule (JSON text: per
    access key its plain value and the conditional clauses that may hold for them,
    :func:`parse_clause`), or "" when no clause may.

    ``hgv`` counts only with ``settings.respect_hgv``, as in ``speeds.truck_access``; a
    pedestrian street (``TIMED_HIGHWAYS``) untagged for vehicles is closed to them unless a
    clause opens it."""
    rule: Rule = []
    timed = False
    for key, conditional in zip(ACCESS_KEYS, CONDITIONAL_KEYS, strict=True):
        if key == "hgv" and not settings.respect_hgv:
            continue
        clauses = [
            parsed
            for c in split_clauses(tags.get(conditional) or "")
            if (parsed := parse_clause(c, settings, today)) is not None
        ]
        plain = tags.get(key)
        if key == "access" and plain is None and tags.get("highway") in TIMED_HIGHWAYS:
            plain = "no"
        timed = timed or bool(clauses)
        if plain is not None or clauses:
            rule.append((key, plain, clauses))
    return json.dumps(rule, separators=(",", ":")) if timed else ""


def week_states(rule: str, today: date) -> set[str]:
    """The states (:func:`access_state`) a way of ``rule`` takes in the week from ``today``."""
    return {s for d in range(WEEK_DAYS) for _, _, s in day_states(rule, today + timedelta(d))}


def way_rule(
    tags: Mapping[str, str], settings: GraphSettings, today: date | None = None
) -> str | None:
    """How trucks may drive an OSM way: None never (not a street for them, or one whose
    clauses close it, or a timed one that opens to them at no time of the week), "" at any
    time (``speeds.is_truck_way``; every way without ``settings.street_hours``), else its
    rule (:func:`rule_text`: the clauses change its access within the week, or may on a
    public holiday: which days those are is known where a plan reads the street's place)."""
    day = today or date.today()
    timed = settings.street_hours and any(k in tags for k in CONDITIONAL_KEYS)
    text = rule_text(tags, settings, day) if timed else ""
    states = week_states(text, day) if text else set()
    holidays = bool(text) and states != {"closed"} and _on_holidays(text)
    if len(states) <= 1 and not holidays:  # no clause, or one state all week: the plain
        # tags decide, unless the clauses close it all week
        plain = is_truck_way(tags, settings) and states != {"closed"}
        return "" if plain else None
    if is_truck_way(tags, settings, timed=True):
        return text
    return None


def _on_holidays(rule: str) -> bool:
    """Whether a clause of ``rule`` holds on public holidays (``PH``): a way closed on
    holidays alone takes one state in a week without them."""
    return any(
        _HOLIDAYS.search(hours) for _, _, clauses in json.loads(rule) for _, hours in clauses
    )


def access_state(value: str | None) -> str:
    """The state of the access value that holds for a truck (None: untagged): "open",
    "local" (only to reach a place on it: ``LOCAL_ACCESS``) or "closed"."""
    if value is None:
        return "open"
    if closed_to_trucks(value):
        return "closed"
    return "local" if local_value(value) else "open"


def _value_at(rule: Rule, active: set[tuple[int, int]]) -> str | None:
    """The access value holding for a truck while the clauses ``active`` (key index,
    clause index) hold: the most specific key with a value; ``motorcar`` only when it
    closes the way (``speeds.truck_access``)."""
    for k, (key, plain, clauses) in enumerate(rule):
        value = plain
        for c, (clause_value, _) in enumerate(clauses):
            if (k, c) in active:
                value = clause_value
        if value is None or (key == "motorcar" and not closed_to_trucks(value)):
            continue
        return value
    return None


@functools.lru_cache(maxsize=4096)
def day_states(
    rule: str, day: date, place: Place | None = None
) -> tuple[tuple[int, int, str], ...]:
    """The access of a way of ``rule`` over ``day``: (start_s, end_s, state) pieces covering
    0..``DAY_S`` seconds of local clock time, state as :func:`access_state`, neighbours
    merged; public holidays (``PH``) those of the country at ``place`` (:func:`place_of`;
    none without)."""
    parsed: Rule = [(k, p, [(v, h) for v, h in cs]) for k, p, cs in json.loads(rule)]
    start = datetime.combine(day, time(0))
    spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
    cuts = {0, DAY_S}
    for k, (_, _, clauses) in enumerate(parsed):
        for c, (_, hours) in enumerate(clauses):
            held = _held(hours, start, place)
            spans[(k, c)] = held
            cuts.update(x for span in held for x in span)
    bounds = sorted(cuts)
    pieces: list[tuple[int, int, str]] = []
    for lo, hi in itertools.pairwise(bounds):
        active = {kc for kc, held in spans.items() if any(a <= lo < b for a, b in held)}
        state = access_state(_value_at(parsed, active))
        if pieces and pieces[-1][2] == state:
            pieces[-1] = (pieces[-1][0], hi, state)
        else:
            pieces.append((lo, hi, state))
    return tuple(pieces)


def _held(hours: str, start: datetime, place: Place | None) -> list[tuple[int, int]]:
    """The (start_s, end_s) spans of ``start``'s day (seconds after ``start``) in which
    the opening_hours ``hours`` hold (at ``place``: its public holidays)."""
    end = start + timedelta(days=1)
    out = []
    for lo, hi, state, *_ in _hours(hours, place).intervals(start, end):
        if state == State.OPEN:
            a = int((lo - start).total_seconds())
            b = DAY_S if hi is None else int((min(hi, end) - start).total_seconds())
            if b > a:
                out.append((a, b))
    return out


def open_intervals(rule: str, day: date, place: Place | None = None) -> list[tuple[int, int]]:
    """The (start_s, end_s) spans of ``day`` (seconds since local midnight) in which a
    truck may drive a way of ``rule`` (open, or open to reach places on it), the public
    holidays those at ``place`` (:func:`day_states`); the whole day for "" (a way whose
    access does not change)."""
    if not rule:
        return [(0, DAY_S)]
    return [(lo, hi) for lo, hi, state in day_states(rule, day, place) if state != "closed"]


def describe(rule: str) -> str:
    """The tags of ``rule`` as a dispatcher reads them on the sign, e.g.
    ``motor_vehicle destination @ (Mo-Sa 06:00-11:00)`` (plain values first)."""
    parts = []
    for key, plain, clauses in json.loads(rule):
        if plain is not None:
            parts.append(f"{key} {plain}")
        parts += [f"{key} {value} @ ({hours})" for value, hours in clauses]
    return "; ".join(parts)


def clock(seconds: int) -> str:
    """HH:MM of ``seconds`` since local midnight (24:00 for the day's end)."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def spans_text(spans: Sequence[tuple[int, int]]) -> str:
    """``06:00-11:00, 19:00-24:00`` for ``spans`` in seconds since local midnight."""
    return ", ".join(f"{clock(a)}-{clock(b)}" for a, b in spans)


Way = tuple[tuple[str, str], ...]
"""One way to a point and away through other timed streets: (name, rule) of each."""


@dataclass(frozen=True, slots=True)
class TimedStreet:
    """The timed street a point stands on, and the other timed streets it is reached and
    left through.

    Attributes
    ----------
    rule : str
        Its street's rule (:func:`way_rule`); "" for a street open at all hours that trucks
        reach or leave only through timed streets (a yard off a pedestrian lane: ``through``
        names them).
    street : str
        The name of the street it stands on ("" when it has none).
    enter_s, leave_s : float
        Seconds a truck drives on timed streets (and the streets behind them) to reach the
        point from the nearest street open at all hours, and to leave it again to one (the
        streets must be open to it for that long before and after its stop).
    place : (float, float) or None
        Where its public holidays are looked up (:func:`place_of`; None: none is known).
    through : tuple of Way
        The ways in and out through other timed streets, when every way needs some
        (``network.reach``): each a set of streets, (name, rule), all open together for a
        truck to reach the point and leave it; a truck takes any one way. Empty: its own
        street's hours alone hold (a lane reached from a street open at all hours, or
        through lanes of its own hours).
    """

    rule: str
    street: str
    enter_s: float
    leave_s: float
    place: Place | None = None
    through: tuple[Way, ...] = ()

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule its visits may keep, distinct: its own and its ``through`` streets'."""
        others = (rule for way in self.through for _, rule in way)
        return tuple(dict.fromkeys(r for r in (self.rule, *others) if r))

    def open_on(self, day: date) -> list[tuple[int, int]]:
        """The (start_s, end_s) spans of ``day`` (local clock seconds) in which trucks may
        drive to the point and away: its own street open (:func:`open_intervals`), and
        every street of one of its ``through`` ways (none needed when there are none)."""
        spans = open_intervals(self.rule, day, self.place)
        if not self.through:
            return spans
        ways: list[tuple[int, int]] = []
        for way in self.through:
            open_way = [(0, DAY_S)]
            for _, rule in way:
                open_way = _overlap(open_way, open_intervals(rule, day, self.place))
            ways = _union([*ways, *open_way])
        return _overlap(spans, ways)


def _overlap(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans in both ``a`` and ``b`` (each sorted, not overlapping itself)."""
    out = []
    for lo, hi in a:
        for lo2, hi2 in b:
            start, end = max(lo, lo2), min(hi, hi2)
            if end > start:
                out.append((start, end))
    return sorted(out)


def _union(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` merged where they overlap or touch, sorted."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
