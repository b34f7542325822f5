"""The drivers' language (``network.language``): its catalogues cover every string the code
says, in every language, with the same fields; numbers, plurals and day names are each
language's; the directions' instructions are said in it."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from network.directions import MANEUVERS, Step, instruction
from network.language import (
    LANGUAGES,
    NETWORK_LOCALES,
    UnknownLanguage,
    direction_words,
    language_of,
    words,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = {  # domain -> its locales folder
    "directions": NETWORK_LOCALES,
    "sheets": ROOT / "optimiser" / "locales",
}
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def _keywords() -> dict[str, tuple[int | tuple[int, str], ...] | None]:
    """The extraction keywords ``make messages`` uses (read from the Makefile, so that the
    test and the tool cannot drift apart), in Babel's form."""
    line = re.search(r"^MESSAGE_KEYS :=(.*?)(?<!\\)$", (ROOT / "Makefile").read_text(), re.M | re.S)
    assert line is not None
    found: dict[str, tuple[int | tuple[int, str], ...] | None] = {}
    for spec in re.findall(r"-k (\S+)", line.group(1)):
        name, _, args = spec.partition(":")
        parts: list[int | tuple[int, str]] = []
        for a in filter(None, args.split(",")):
            parts.append((int(a[:-1]), "c") if a.endswith("c") else int(a))
        found[name] = tuple(parts) or None
    return found


def _sources() -> dict[str, list[Path]]:
    """Domain -> the modules ``make messages`` extracts its template from (read from the
    Makefile, as the keywords are)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    found = re.findall(r"extract \$\(MESSAGE_KEYS\) -o (\S+)\.pot ([^\n]+)", text)
    return {Path(pot).name: [ROOT / f for f in files.split()] for pot, files in found}


def _said_in(modules: list[Path]) -> set[tuple[str | None, str | tuple[str, ...]]]:
    """(context, message) of every string ``modules`` say (as ``make messages`` finds them)."""
    out = set()
    for module in modules:
        for _, message, _, context in extract_from_file(
            "python", str(module), keywords=_keywords(), strip_comment_tags=True
        ):
            out.add((context, message))
    return out


def test_every_module_that_says_words_is_extracted() -> None:
    """A module of the drivers' words split off another is in ``make messages`` too: its
    strings would otherwise never reach the catalogues."""
    sources = _sources()
    assert set(sources) == set(CATALOGUES)
    listed = {path for paths in sources.values() for path in paths}
    assert all(path.is_file() for path in listed)
    speaking = {
        path
        for package in ("network", "optimiser")
        for path in (ROOT / package).rglob("*.py")
        if _said_in([path])
    }
    assert speaking - {ROOT / "network" / "language.py"} == listed


def _catalogue(locales: Path, code: str, domain: str):
    with (locales / code / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f, locale=code)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_keywords_are_read_from_the_makefile() -> None:
    keys = _keywords()
    assert keys["say"] is None and keys["count"] == (1, 2) and keys["say_in"] == ((1, "c"), 2)
    assert set(keys) == {"say", "say_in", "count", "N_", "NC_"}


@pytest.mark.parametrize("domain", sorted(CATALOGUES))
def test_the_templates_hold_what_the_code_says(domain: str) -> None:
    """The ``.pot`` template is the code's strings (``make messages`` after a change)."""
    locales = CATALOGUES[domain]
    said = _said_in(_sources()[domain])
    assert len(said) > 20
    with (locales / f"{domain}.pot").open("rb") as f:
        template = {(m.context, m.id) for m in read_po(f) if m.id}
    assert template == said, "run `make messages`, then translate the new strings"


@pytest.mark.parametrize("code", TRANSLATED)
@pytest.mark.parametrize("domain", sorted(CATALOGUES))
def test_every_language_says_every_string_with_its_fields(domain: str, code: str) -> None:
    """Each string the code says has a translation (no fuzzy one, none left over) that keeps
    its fields: a road's name is never lost, and none is asked for that is not given."""
    locales = CATALOGUES[domain]
    said = _said_in(_sources()[domain])
    catalogue = _catalogue(locales, code, domain)
    held = {(m.context, m.id): m for m in catalogue if m.id}
    assert set(held) == said
    for key, m in held.items():
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(forms) and not m.fuzzy, f"{code} {domain}: {key} untranslated"
        assert len(forms) == (catalogue.num_plurals if m.pluralizable else 1)
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        wanted = set().union(*map(_fields, ids))
        given = wanted | ({"n"} if "ordinal" in wanted else set())  # an exit's number
        for form in forms:
            got = _fields(form)
            assert got <= given, f"{code}: {form!r} asks for {got - given}"
            assert wanted - {"ordinal"} <= got, f"{code}: {form!r} drops {wanted - got}"


@pytest.mark.parametrize(
    ("tag", "code"),
    [("de", "de"), ("de-AT", "de"), ("pt_BR", "pt"), ("ZH-Hans", "zh"), (" fi ", "fi")],
)
def test_a_tag_is_read_as_its_language(tag: str, code: str) -> None:
    assert language_of(tag) == code


@pytest.mark.parametrize("tag", ["xx", "", "klingon", "tlh"])
def test_a_language_without_words_is_refused_naming_those_there_are(tag: str) -> None:
    with pytest.raises(UnknownLanguage, match="use one of ca, de, en, es, fi, ko, pt, sv, zh"):
        language_of(tag)


def test_a_missing_catalogue_is_an_error_not_english(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        words("de", tmp_path, "directions")


@pytest.mark.parametrize(
    ("code", "metres", "count", "km"),
    [
        ("en", "1,234.5", "12,345", "12.35"),
        ("de", "1.234,5", "12.345", "12,35"),
        ("es", "1.234,5", "12.345", "12,35"),
        ("pt", "1.234,5", "12.345", "12,35"),
        ("fi", "1\xa0234,5", "12\xa0345", "12,35"),
        ("zh", "1,234.5", "12,345", "12.35"),
    ],
)
def test_numbers_are_written_each_languages_way(
    code: str, metres: str, count: str, km: str
) -> None:
    """Separators are the language's; rounding is Python's (12.345 km is 12.35, as the
    sheets wrote it before they knew languages), not Babel's half-even."""
    w = direction_words(code)
    assert w.number(1234.46, 1) == metres and w.number(12345) == count
    assert w.number(12.345, 2) == km


def test_plurals_follow_each_languages_rule() -> None:
    from optimiser.sheets import language

    fi, de, ko = (language(c).sheets for c in ("fi", "de", "ko"))
    assert fi.count("{n} bin", "{n} bins", 1) == "1 astia"
    assert fi.count("{n} bin", "{n} bins", 2) == "2 astiaa"
    assert de.count("{n} disposal trip", "{n} disposal trips", 2) == "2 Entsorgungsfahrten"
    assert ko.count("{n} bin", "{n} bins", 1) == "수거함 1개"  # one form for every number
    assert ko.count("{n} bin", "{n} bins", 3) == "수거함 3개"


def test_day_names_are_the_languages() -> None:
    monday = date(2026, 12, 7)
    names = [direction_words(c).weekday(monday) for c in ("en", "de", "fi", "pt")]
    assert names == ["Monday", "Montag", "maanantaina", "segunda-feira"]  # fi: "on Monday"


def test_lists_are_joined_the_languages_way() -> None:
    streets = ["Market Lane", "Church Lane"]
    said = {c: direction_words(c).listing(streets) for c in ("en", "de", "fi", "zh")}
    assert said == {
        "en": "Market Lane and Church Lane",
        "de": "Market Lane und Church Lane",
        "fi": "Market Lane ja Church Lane",
        "zh": "Market Lane和Church Lane",
    }
    assert direction_words("es").listing(["Rúa Nova"]) == "Rúa Nova"


def _step(maneuver: str, **extra: object) -> Step:
    fields: dict[str, object] = {"maneuver": maneuver, "street": "Hauptstraße"}
    fields |= {"highway": "residential", "distance_m": 10.0, "duration_s": 2.0}
    fields |= {"lon": 8.69, "lat": 49.41} | extra
    return Step(**fields)  # type: ignore[arg-type]


def test_english_instructions_read_as_before() -> None:
    assert _step("left").text() == "Turn left onto Hauptstraße"
    assert _step("slight right").text() == "Bear right onto Hauptstraße"
    assert _step("depart", heading="north-east").text() == "Head north-east on Hauptstraße"
    assert _step("roundabout", exit_number=12).text() == (
        "At the roundabout, take the 12th exit onto Hauptstraße"
    )
    assert _step("arrive", side="left").text("bin b1") == "Arrive at bin b1, on the left"
    assert _step("straight", street="").text() == (
        "Continue straight onto the unnamed residential road"
    )
    assert _step("u-turn", street="", highway="").text() == (
        "Make a U-turn and drive on along the way off the street"
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_maneuver_is_said_in_every_language_naming_its_street(code: str) -> None:
    """Each maneuver's words differ from English and keep the street's name; an unnamed
    street is its road class in that language; a roundabout names its exit's number."""
    w = direction_words(code)
    for maneuver in MANEUVERS:
        step = _step(maneuver, heading="south-west", side="right", exit_number=3)
        said = step.text("bin b1", w)
        assert said != step.text("bin b1"), f"{code} {maneuver}: English"
        assert ("bin b1" if maneuver == "arrive" else "Hauptstraße") in said
        if maneuver == "roundabout":
            assert "3" in said and "3rd" not in said
        unnamed = _step(maneuver, street="", highway="living_street").text("x", w)
        if maneuver != "arrive":
            kind = w.say_in("highway", "living street")
            assert kind != "living street" and kind in unnamed
    with pytest.raises(ValueError, match="no words for maneuver 'reverse'"):
        instruction(w, maneuver="reverse", street="x", highway="")


def test_german_and_korean_instructions() -> None:
    de, ko = direction_words("de"), direction_words("ko")
    assert _step("left").text(words=de) == "Links abbiegen auf Hauptstraße"
    assert _step("roundabout", exit_number=2).text(words=de) == (
        "Im Kreisverkehr die 2. Ausfahrt nehmen auf Hauptstraße"
    )
    assert _step("depart", heading="north", street="").text(words=de) == (
        "Richtung Norden losfahren auf Wohnstraße ohne Namen"
    )
    assert _step("right").text(words=ko) == "우회전하여 Hauptstraße 진입"


def test_a_text_no_catalogue_has_is_said_as_it_is() -> None:
    """A stored note the catalogues do not know (an older version's words) is kept, braces
    and all; a field a message names is filled in whatever the street's name holds."""
    w = direction_words("de")
    assert w.say("a note {with braces}") == "a note {with braces}"
    assert w.say("Turn left onto {road}", road="{Hof}") == "Links abbiegen auf {Hof}"


def test_the_words_in_context_are_every_compass_point_and_road_class() -> None:
    """``CONTEXT_WORDS`` lists, for ``make messages``, the headings and the classes of
    unnamed roads a step may name: a class added to the truck's streets without its words
    would read in English in every language."""
    from network.bearings import COMPASS
    from network.directions import CONTEXT_WORDS
    from network.speeds import DRIVABLE_HIGHWAYS, TIMED_HIGHWAYS

    classes = {h.replace("_", " ") for h in DRIVABLE_HIGHWAYS | TIMED_HIGHWAYS}
    assert sorted(CONTEXT_WORDS) == sorted({*COMPASS, *classes})
