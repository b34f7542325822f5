"""The bounded field types of the wire schemas (:mod:`api.schemas`): ids, names, streams,
(lon, lat), seconds, instants with an offset, local clock times; and the bases of the
requests (unknown fields forbidden) and the responses.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from fleet.models import MAX_COST


def _in_a_path(value: str) -> str:
    if set(value) == {"."}:
        raise ValueError(
            f"id {value!r} cannot be used in a URL path (a browser reads it as a folder); "
            "give it a letter or a digit"
        )
    return value


Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$"),
    AfterValidator(_in_a_path),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(
            "contains a NUL character (\\x00), which the database cannot store; remove it"
        )
    return value


NoNul = AfterValidator(_no_nul)
"""Text and ids the service stores or looks up: no NUL (PostgreSQL text cannot hold one)."""
UrlKey = Annotated[str, NoNul]
"""An id in the URL (path or query): looked up as given (unknown: 404), but no NUL."""
Name = Annotated[str, StringConstraints(max_length=200), NoNul]
MAX_ROW_ID = 2**31 - 1
"""The largest id of a table's Integer primary key (PostgreSQL's integer): a larger one in
a URL is a 422, not a database error."""
Stream = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_\-]*$")
]


def _a_set(value: list[str]) -> list[str]:
    return sorted(set(value))  # a set: the order given changes nothing (nor re-plans)


Streams = Annotated[list[Stream], Field(min_length=1, max_length=16), AfterValidator(_a_set)]
Equipment = Annotated[
    list[Stream],  # each name written as a stream's is
    Field(max_length=16),
    AfterValidator(_a_set),
]
"""Names of pieces of truck equipment (``crane``, ``comb``), as streams are written."""
Lon = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]
Count = Annotated[int, Field(gt=0, le=10_000_000)]
Money = Annotated[float, Field(ge=0.0, le=MAX_COST, allow_inf_nan=False)]
FIRST_YEAR, LAST_YEAR = 1970, 2200


def _plausible_instant(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}..{LAST_YEAR}")
    return value


def _plausible_date(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}..{LAST_YEAR}")
    return value


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_plausible_instant),
    Field(description="ISO 8601 with an offset"),
]
PlanDate = Annotated[date, AfterValidator(_plausible_date)]


def _naive(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("clock times are local to the city; drop the offset")
    return value


_CLOCK_SCHEMA = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
    "description": "local clock time HH:MM[:SS], no offset",
    "examples": ["06:30"],
}
LocalTime = Annotated[time, AfterValidator(_naive), WithJsonSchema(_CLOCK_SCHEMA)]
ClockOut = Annotated[
    time,
    PlainSerializer(lambda t: t.strftime("%H:%M:%S"), return_type=str),
    WithJsonSchema(_CLOCK_SCHEMA),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)
