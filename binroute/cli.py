"""The ``binroute`` command: the composition root of fleet, network, optimiser, api, scenarios."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from binroute.cli_scenarios import scenarios_app
from binroute.console import console, error, kpi_table, print_reasons, print_table, progress, say

app = typer.Typer(
    help="Smart waste collection routing on OpenStreetMap streets.", no_args_is_help=True
)


class DriveSide(enum.StrEnum):
    """The side of the street traffic keeps to (``network.speeds.DRIVE_SIDES``)."""

    RIGHT = "right"
    LEFT = "left"


OutOpt = Annotated[Path, typer.Option(help="Directory for plan.json, routes.geojson, map.html")]
DateOpt = Annotated[
    str, typer.Option("--date", help="Day to plan (YYYY-MM-DD; default: today in --tz)")
]


def _finite_seconds(value: float) -> float:
    """A solver time limit no solver ignores: finite, at least 0.1 s."""
    if not (math.isfinite(value) and value >= 0.1):
        raise typer.BadParameter(f"{value} is not a number of seconds >= 0.1")
    return value


TimeLimitOpt = Annotated[
    float, typer.Option(help="Solver time limit, seconds", callback=_finite_seconds)
]


def _known_language(value: str) -> str:
    """A language the drivers' route sheets are written in (its code)."""
    from network.language import UnknownLanguage, language_of

    try:
        return language_of(value)
    except UnknownLanguage as err:
        raise typer.BadParameter(str(err)) from None


LanguageOpt = Annotated[
    str,
    typer.Option(
        help="The drivers' language of sheets.html: ca, de, en, es, fi, ko, pt, sv or zh (as "
        "BINROUTE_LANGUAGE)",
        callback=_known_language,
    ),
]


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--date {text!r} is not YYYY-MM-DD") from None


def _today_in(tz: str, now: datetime | None = None) -> date:
    """The date in the city's zone ``tz`` at ``now`` (default: this moment); the machine's
    when ``tz`` is not a zone (the job then names it)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    now = now or datetime.now(UTC)
    try:
        return now.astimezone(ZoneInfo(tz)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return date.today()


def _parse_start(text: str) -> time:
    """A local clock time of the city (``--tz``); one with a UTC offset is refused (the
    offset would be dropped, the plan starting at another moment than the one meant)."""
    try:
        at = time.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--start {text!r} is not a local time HH:MM") from None
    if at.tzinfo is not None:
        local = at.replace(tzinfo=None).isoformat(timespec="minutes")
        raise typer.BadParameter(
            f"--start {text!r} has a UTC offset; give the local time in --tz alone, "
            f"e.g. {local}, and the zone with --tz"
        )
    return at


def _out_dir(out: Path) -> None:
    """A usage error, before any work, when ``out`` is a file, not a directory (the plan
    was solved and then not written: '[Errno 17] File exists')."""
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--out {str(out)!r} is a file; give a directory")


def _truck_size(key: str, what: str) -> Callable[[float], float]:
    """A typer callback taking a truck size (``key`` of ``network.speeds.TRUCK_SIZES``)
    a road vehicle may have, refusing others with their bounds."""

    def check(value: float) -> float:
        from network.speeds import TRUCK_SIZES

        most, unit, _ = TRUCK_SIZES[key]
        if not (math.isfinite(value) and 0 < value <= most):
            raise typer.BadParameter(f"{value} is not a truck {what} in {unit} in (0, {most:g}]")
        return value

    return check


def _positive_metres(value: float | None) -> float | None:
    """A snap limit that places something: finite, above 0 m (None: the default)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value} is not a distance in metres > 0")
    return value


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="Directory for plan.json, routes.geojson, map.html")
    ] = Path("binroute-demo"),
    plan_date: Annotated[
        str, typer.Option("--date", help="Day to plan (YYYY-MM-DD)")
    ] = "2026-11-25",
    time_limit: TimeLimitOpt = 10.0,
    street_bins: Annotated[int, typer.Option(help="Generated bins on residential streets")] = 150,
    seed: Annotated[int, typer.Option(help="Random seed for bins and readings")] = 7,
    language: LanguageOpt = "en",
) -> None:
    """Plan a day in Helsinki centre (2026-11-25 unless --date; embedded data, no internet)."""
    from optimiser.params import SolveParams
    from scenarios.demo import run_demo

    day = _parse_date(plan_date)
    _out_dir(out)
    with progress("demo") as update:
        update(0.0, "loading Helsinki street graph and simulating 14 days of readings")
        result = run_demo(
            out,
            plan_date=day,
            street_bins=street_bins,
            seed=seed,
            params=SolveParams(time_limit_s=time_limit, seed=seed),
            progress=update,
            language=language,
        )
    _print_day(result.day, result.city.excluded, result.files)


def _print_day(day: Any, excluded: Sequence[tuple[str, str]], files: Sequence[Path]) -> None:
    """Print the KPI table, the plan's notes, the unserved bins, the input records left out
    (``excluded``) and the checker's verdict; exit 1 if the plan breaks a rule."""
    title = f"Plan for {day.plan_date} ({day.plan.status})"
    print_table(kpi_table(dict(day.kpis)), title, right=("value",))
    for note in day.plan.notes:  # why a day has no work, trucks out of service, ...
        say(f"note: {note}")
    if day.unserved:
        rows = [(u.ref, u.reason) for u in day.unserved]
        print_reasons("Bins not served", "bin", rows)
    if excluded:
        print_reasons("Records left out", "record", excluded)
    if day.violations:
        for v in day.violations:
            say(f"checker: {v}", style="red")
        raise typer.Exit(code=1)
    say("independent checker: plan feasible")
    for path in files:
        say(f"wrote {path}")


@app.callback()
def main() -> None:
    """binroute: plan waste collection routes from fill levels on real streets."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the dispatcher service (settings from BINROUTE_* environment variables)."""
    from api.migrate import SchemaError
    from api.server import run
    from api.service_lock import ServiceLockError
    from api.settings import SettingsError, settings_from_env

    try:
        settings = settings_from_env()
    except SettingsError as err:
        error(err)
        raise typer.Exit(code=2) from None
    try:
        run(host=host, port=port, settings=settings)
    except (ServiceLockError, SchemaError) as err:
        error(err)
        raise typer.Exit(code=1) from None


keys = typer.Typer(help="API keys of the service.", no_args_is_help=True)
app.add_typer(keys, name="keys")


@keys.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="sensor, dispatcher, viewer or admin")],
    name: Annotated[str, typer.Option(help="Who or what the key is for")],
    valid_days: Annotated[
        int | None,
        typer.Option(min=1, help="Days the key works, from now (default: until revoked)"),
    ] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from api.migrate import SchemaError
    from api.security import create_key
    from api.settings import settings_from_env

    expires_at = None if valid_days is None else datetime.now(UTC) + timedelta(days=valid_days)
    try:
        key = create_key(settings_from_env(), role, name, expires_at)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    except SchemaError as err:
        error(err)
        raise typer.Exit(code=1) from None
    console.print(key, soft_wrap=True)  # not folded at the console's width: copied whole
    if expires_at is not None:  # on stderr: the key alone on stdout, for KEY=$(binroute ...)
        typer.echo(f"it expires at {expires_at.isoformat(timespec='seconds')}", err=True)


@app.command()
def plan(
    inventory: Annotated[
        Path, typer.Option(help="Directory with bins/depots/vehicles/sites CSV or GeoJSON")
    ],
    out: OutOpt = Path("binroute-plan"),
    plan_date: DateOpt = "",
    readings: Annotated[
        Path | None, typer.Option(help="Readings: CSV, or FIWARE WasteContainer JSON")
    ] = None,
    reports: Annotated[Path | None, typer.Option(help="Citizen reports CSV")] = None,
    pickups: Annotated[
        Path | None,
        typer.Option(
            help="Trucks' pickups CSV (bin_id, at[, fill_fraction, weight_kg]): the "
            "collection log; weight_kg is what the lift scale took (kg); a row with neither "
            "is an emptying with no fill recorded"
        ),
    ] = None,
    city: Annotated[
        Path | None, typer.Option(help="Street network .osm.pbf or .osm (default: straight lines)")
    ] = None,
    tz: Annotated[str, typer.Option(help="IANA time zone of the city")] = "Europe/Helsinki",
    time_limit: TimeLimitOpt = 30.0,
    seed: Annotated[int, typer.Option(help="Solver seed")] = 0,
    start: Annotated[
        str,
        typer.Option(
            help="Local time HH:MM the plan starts, when made after the shifts began: no "
            "truck leaves before it, and rows up to it count (default: the first shift)"
        ),
    ] = "",
    max_snap_m: Annotated[
        float | None,
        typer.Option(
            help="With --city: how far (m) a bin, depot or site may be from the nearest "
            "drivable street; a bin farther is left out, a depot or site farther stops the "
            "job (default 150: network.MAX_SNAP_M, as the service's BINROUTE_MAX_SNAP_M)",
            callback=_positive_metres,
            show_default=False,
        ),
    ] = None,
    truck_height_m: Annotated[
        float,
        typer.Option(
            help="With --city: the trucks' height (m); a street signed lower (maxheight) is "
            "not driven (as the service's BINROUTE_TRUCK_HEIGHT_M)",
            callback=_truck_size("truck_height_m", "height"),
        ),
    ] = 3.8,
    truck_weight_kg: Annotated[
        float,
        typer.Option(
            help="With --city: the loaded trucks' weight (kg); a street signed lighter "
            "(maxweight) is not driven, unless for destinations (as BINROUTE_TRUCK_WEIGHT_KG)",
            callback=_truck_size("truck_weight_kg", "weight"),
        ),
    ] = 26000.0,
    truck_width_m: Annotated[
        float,
        typer.Option(
            help="With --city: the trucks' width (m); a street signed narrower (maxwidth) is "
            "not driven (as BINROUTE_TRUCK_WIDTH_M)",
            callback=_truck_size("truck_width_m", "width"),
        ),
    ] = 2.55,
    truck_length_m: Annotated[
        float,
        typer.Option(
            help="With --city: the trucks' length (m); a street signed shorter (maxlength) is "
            "not driven (as BINROUTE_TRUCK_LENGTH_M)",
            callback=_truck_size("truck_length_m", "length"),
        ),
    ] = 10.0,
    truck_axle_load_kg: Annotated[
        float,
        typer.Option(
            help="With --city: the load (kg) on the loaded trucks' heaviest axle; a street "
            "signed lighter (maxaxleload) is not driven (as BINROUTE_TRUCK_AXLE_LOAD_KG)",
            callback=_truck_size("truck_axle_load_kg", "axle load"),
        ),
    ] = 10000.0,
    turn_restrictions: Annotated[
        bool,
        typer.Option(
            "--turn-restrictions/--no-turn-restrictions",
            help="With --city: obey the file's turn restrictions (as BINROUTE_TURN_RESTRICTIONS)",
        ),
    ] = True,
    local_access: Annotated[
        bool,
        typer.Option(
            "--no-through-local-streets/--through-local-streets",
            help="With --city: never drive through streets open only to reach a place on them "
            "(access=destination, delivery, customers; as BINROUTE_LOCAL_ACCESS)",
        ),
    ] = True,
    u_turns: Annotated[
        bool,
        typer.Option(
            "--u-turns/--no-u-turns",
            help="With --city: let trucks turn back at any junction, or only at dead ends "
            "(as BINROUTE_U_TURNS)",
        ),
    ] = True,
    street_hours: Annotated[
        bool,
        typer.Option(
            "--street-hours/--no-street-hours",
            help="With --city: obey access that changes with the time (a pedestrian zone's "
            "delivery hours, a night ban on lorries; as BINROUTE_STREET_HOURS)",
        ),
    ] = True,
    drive_side: Annotated[
        DriveSide,
        typer.Option(
            help="With --city: the side of the street traffic keeps to; a bin flagged "
            "kerb_side is passed with it on that side (as BINROUTE_DRIVE_SIDE)",
        ),
    ] = DriveSide.RIGHT,
    language: LanguageOpt = "en",
) -> None:
    """Plan a day from a city's own files and write plan.json, routes.geojson, map.html."""
    from binroute.jobs import plan_from_files
    from fleet.errors import FleetDataError
    from network import MAX_SNAP_M, GraphSettings
    from network.errors import NetworkError
    from optimiser.errors import InvalidProblemError
    from optimiser.params import SolveParams

    day = _parse_date(plan_date) if plan_date else _today_in(tz)
    start_at = _parse_start(start) if start else None
    _out_dir(out)
    try:
        with progress("plan") as update:
            result = plan_from_files(
                inventory_dir=inventory,
                readings_path=readings,
                reports_path=reports,
                pickups_path=pickups,
                city=city,
                plan_date=day,
                tz_name=tz,
                out=out,
                params=SolveParams(time_limit_s=time_limit, seed=seed),
                progress=update,
                start=start_at,
                max_snap_m=MAX_SNAP_M if max_snap_m is None else max_snap_m,
                truck=GraphSettings(
                    truck_height_m=truck_height_m,
                    truck_weight_kg=truck_weight_kg,
                    truck_width_m=truck_width_m,
                    truck_length_m=truck_length_m,
                    truck_axle_load_kg=truck_axle_load_kg,
                    turn_restrictions=turn_restrictions,
                    local_access=local_access,
                    u_turns=u_turns,
                    drive_side=drive_side.value,
                    street_hours=street_hours,
                ),
                language=language,
            )
    except (FleetDataError, InvalidProblemError, NetworkError, OSError) as err:
        error(err)
        raise typer.Exit(code=2) from None
    _print_day(result.day, result.excluded, result.files)


app.add_typer(scenarios_app, name="scenarios")
