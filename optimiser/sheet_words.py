"""The route sheets' words: their language (the directions' words and the sheets' own, from
``optimiser/locales``, domain ``sheets``), how a leg's stop, a visit's stop and a street are
named for a driver, a stored step said again, times and distances as a driver reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from network.directions import instruction, road_class
from network.language import DEFAULT_LANGUAGE, Words, direction_words, words

LonLat = tuple[float, float]


SHEET_LOCALES = Path(__file__).with_name("locales")


@dataclass(frozen=True, slots=True)
class Language:
    """The words of a route sheet: its directions' (``network``) and its own."""

    directions: Words
    sheets: Words

    @property
    def code(self) -> str:
        return self.sheets.language


def language(tag: str = DEFAULT_LANGUAGE) -> Language:
    """The route sheets' words in ``tag``'s language.

    Raises
    ------
    network.language.UnknownLanguage
        If the sheets have no words in that language (the message lists those they have).
    """
    return Language(direction_words(tag), words(tag, SHEET_LOCALES, "sheets"))


def _visits_of(plan: Mapping[str, Any], vehicle_id: str) -> list[Mapping[str, Any]]:
    """The visits of ``vehicle_id``'s route in ``plan`` (plan.json's), none without one."""
    for r in plan.get("routes", []):
        if r.get("vehicle_id") == vehicle_id:
            return list(r.get("visits", []))
    return []


def _leg_stop(sheets: Words, visits: Sequence[Mapping[str, Any]], leg: Mapping[str, Any]) -> str:
    """Where ``leg`` arrives, named for its last instruction (``sheets``' language)."""
    i = int(leg.get("to_order", -1))
    if 0 <= i < len(visits):
        v = visits[i]
        return _arrival_name(sheets, str(v["kind"]), str(v["ref"]), v.get("place"))
    return _arrival_name(sheets, "", "", leg.get("to"))


def _said(step: Mapping[str, Any], stop: str, lang: Language) -> str:
    """A stored step's (:func:`_step_json`) instruction in ``lang``'s language."""
    return instruction(
        lang.directions,
        maneuver=str(step["maneuver"]),
        street=str(step.get("street", "")),
        highway=str(step.get("highway", "")),
        heading=str(step.get("heading", "")),
        side=str(step.get("side", "")),
        exit_number=int(step.get("exit", 0)),
        stop=stop,
    )


def _arrival_street(lang: Language, steps: Sequence[Mapping[str, Any]]) -> str:
    """The street of the last of ``steps``: of a leg's, the street its stop stands on."""
    if not steps:
        return ""
    last = steps[-1]
    if last["street"]:
        return str(last["street"])
    if not last["highway"]:
        return ""
    return lang.sheets.say("unnamed {kind}", kind=road_class(lang.directions, last["highway"]))


def _arrival_name(sheets: Words, kind: str, ref: str, place: str | None) -> str:
    """Where a leg arrives, for its last instruction ("Arrive at bin b1")."""
    if kind == "bin":
        return sheets.say("bin {ref}", ref=ref)
    if kind == "disposal":
        return sheets.say("disposal site {place}", place=place or ref)
    if kind == "waypoint":
        return sheets.say("the truck's place when its route changed")
    return str(place or ref)


def _stop_name(sheets: Words, kind: str, ref: str, place: str | None) -> str:
    """A visit's stop for a driver: "bin b1", "disposal site s1", "leave depot-1"... (a
    plan stored before visits named their ``place`` says "the depot")."""
    if kind == "start" and place == ref:  # the truck's own place: where it was reported
        return sheets.say("set off from where the truck is")
    if kind == "start":
        return sheets.say("leave {place}", place=place) if place else sheets.say("leave the depot")
    if kind == "end":
        return (
            sheets.say("back at {place}", place=place) if place else sheets.say("back at the depot")
        )
    if kind in ("bin", "disposal"):
        return _arrival_name(sheets, kind, ref, place)
    if kind == "break":
        return sheets.say("break")
    if kind == "waypoint":
        return sheets.say("where the truck was when its route changed")
    return f"{kind} {ref}"


def _hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M")


def _metres(m: float, sheets: Words) -> str:
    return f"{sheets.number(m / 1000, 1)} km" if m >= 1000 else f"{sheets.number(m)} m"
