"""The drivers' language: message catalogues, numbers, lists and day names (the one adapter
of Babel).

Drivers read their directions and route sheets in the city's language. The words are
gettext catalogues, one ``.po`` file per language and domain, in the standard layout
``<package>/locales/<language>/LC_MESSAGES/<domain>.po`` (``network``'s ``directions``,
``optimiser``'s ``sheets``); their English ``msgid`` s are the code's own strings, so
English needs no file. Babel reads a ``.po`` file and compiles it in memory for Python's
``gettext`` (no build step, no ``.mo`` file kept); ``make messages`` extracts the strings
from the code again and merges them into every language's file (``pybabel``). Numbers are
written the language's way (``1,2 km`` in German, ``1.2 km`` in English) and day names are
CLDR's, through Babel too.
"""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("ca", "de", "en", "es", "fi", "ko", "pt", "sv", "zh")
"""The languages the drivers' outputs are written in (ISO 639-1 codes)."""

DEFAULT_LANGUAGE = "en"
NETWORK_LOCALES = Path(__file__).with_name("locales")


class UnknownLanguage(ValueError):
    """A language the drivers' outputs have no words in."""


def language_of(tag: str) -> str:
    """The code of :data:`LANGUAGES` a language tag asks for: ``de``, ``de-AT``,
    ``pt_BR`` and ``ZH-Hans`` give ``de``, ``de``, ``pt`` and ``zh``.

    Raises
    ------
    UnknownLanguage
        If ``tag`` is no language tag, or one of a language not in :data:`LANGUAGES`
        (the message lists them).
    """
    code = tag.strip().replace("-", "_").split("_")[0].lower()
    if code not in LANGUAGES:
        raise UnknownLanguage(
            f"no drivers' words in language {tag!r}: use one of {', '.join(LANGUAGES)} "
            "(a tag like 'pt-BR' is read as its language, 'pt')"
        )
    return code


@dataclass(frozen=True, slots=True)
class Words:
    """One language's words of one catalogue, and its way of writing numbers and days.

    Attributes
    ----------
    language : str
        A :data:`LANGUAGES` code.
    catalogue : gettext.NullTranslations
        The compiled messages (English: none, the ``msgid`` s are the words).
    """

    language: str
    catalogue: gettext.NullTranslations

    def say(self, message: str, /, **fields: object) -> str:
        """``message`` (an English ``msgid``) in this language, ``{name}`` fields filled in
        (none given: as it is, so a text that is no catalogue's, a stored note, may hold
        braces)."""
        said = self.catalogue.gettext(message)
        return said.format(**fields) if fields else said

    def say_in(self, context: str, message: str, /) -> str:
        """A word that needs its ``context`` (``msgctxt``) to translate: the compass point
        "north" of a heading, the road class "service" of an unnamed road."""
        return self.catalogue.pgettext(context, message)

    def count(self, singular: str, plural: str, n: int, /, **fields: object) -> str:
        """The form of ``singular`` / ``plural`` this language uses for ``n`` (its plural
        rule), with ``{n}`` and ``fields`` filled in (``n`` written the language's way)."""
        return self.catalogue.ngettext(singular, plural, n).format(n=self.number(n), **fields)

    def number(self, value: float, places: int = 0) -> str:
        """``value`` rounded to ``places`` decimals with this language's separators:
        ``1,234.5`` in English, ``1.234,5`` in German, ``1 234,5`` in Finnish."""
        pattern = "#,##0" + ("." + "0" * places if places else "")
        exact = Decimal(f"{value:.{places}f}")  # rounded as Python's own formatting does
        return str(format_decimal(exact, format=pattern, locale=self.language))

    def listing(self, items: Sequence[str]) -> str:
        """``items`` joined as this language lists them: "A, B, and C", "A, B und C"."""
        return str(format_list(list(items), locale=self.language))

    def either(self, items: Sequence[str]) -> str:
        """``items`` joined as this language offers a choice: "A, B, or C", "A, B oder C"."""
        return str(format_list(list(items), style="or", locale=self.language))

    def weekday(self, day: date) -> str:
        """The name of ``day``'s weekday as a date says it ("Monday", "Montag"; Finnish
        "maanantaina", on Monday)."""
        return str(format_date(day, "EEEE", locale=self.language))


def words(language: str, locales: Path, domain: str) -> Words:
    """The words of ``domain`` in ``language`` (a tag :func:`language_of` reads) from
    ``locales`` (a package's ``locales`` folder).

    Raises
    ------
    UnknownLanguage
        If ``language`` is not one of :data:`LANGUAGES`.
    FileNotFoundError
        If a language of :data:`LANGUAGES` other than English has no catalogue there.
    """
    return _words(language_of(language), locales, domain)


@lru_cache(maxsize=64)
def _words(code: str, locales: Path, domain: str) -> Words:
    if code == DEFAULT_LANGUAGE:
        return Words(code, gettext.NullTranslations())
    path = locales / code / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        catalogue = read_po(f, locale=_locale(code), domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalogue)  # fuzzy entries left out, as msgfmt does
    compiled.seek(0)
    return Words(code, gettext.GNUTranslations(compiled))


def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError) as err:  # pragma: no cover - LANGUAGES are CLDR's
        raise UnknownLanguage(f"Babel has no locale {code!r}") from err


def direction_words(language: str) -> Words:
    """:func:`words` of the turn-by-turn directions (``network/locales``, ``directions``)."""
    return words(language, NETWORK_LOCALES, "directions")


def N_(message: str) -> str:
    """Mark ``message`` for ``make messages`` where it is said later (gettext_noop)."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark ``message`` of ``context`` (:meth:`Words.say_in`) for ``make messages``."""
    return message
