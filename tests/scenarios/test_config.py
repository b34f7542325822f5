from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.config import (
    ScenarioConfig,
    ScenarioError,
    catalog,
    config_from_dict,
    config_to_dict,
    load_config,
    shared_data_dir,
    with_param,
)
from tests.scenarios.conftest import tiny_dict


def test_catalog_files_all_parse() -> None:
    names = catalog()
    helsinki = {"helsinki_small", "helsinki_week", "helsinki_sweep"}
    shared = {"porto_2000", "heidelberg_600", "porto_alegre_600"}  # cities in ../shared/data/osm
    assert helsinki | shared <= set(names)
    for path in names.values():
        cfg = load_config(path)
        assert cfg.policies and cfg.source == str(path)


def test_small_catalog_values() -> None:
    cfg = load_config("helsinki_small")  # a bare name is looked up in the catalogue
    assert cfg.n_bins == 80 and cfg.days == 7 and cfg.fleet.trucks == 3
    assert [p.kind for p in cfg.policies] == ["fixed", "threshold", "forecast"]
    assert cfg.policy("forecast").collection.may_fill == 0.6
    assert cfg.city_path() is None  # the embedded Helsinki extract


def test_defaults_name_policies(tiny_config) -> None:
    assert [p.name for p in tiny_config.policies] == ["fixed-2d", "threshold-60%", "forecast"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"n_bins": 0}, "'n_bins'"),
        ({"sensor_share": 1.5}, "'sensor_share'"),
        ({"crane_share": -0.1}, "'crane_share' must be in [0, 1]"),
        ({"fleet": {"trucks": 2, "crane_trucks": 3}}, "fleet.crane_trucks must be in [0, fleet"),
        ({"provider": "teleport"}, "'provider'"),
        ({"tz": "Mars/Olympus"}, "'tz'"),
        ({"policies": []}, "[[policies]]"),
        ({"policies": [{"kind": "magic"}]}, "'kind'"),
        ({"policies": [{"kind": "fixed", "every_k_days": 0}]}, "'every_k_days'"),
        ({"policies": [{"kind": "forecast", "bogus": 1}]}, "bogus"),
        ({"policies": [{"kind": "forecast", "may_fill": 0.95, "must_fill": 0.9}]}, "may_fill"),
        ({"policies": [{"kind": "forecast", "releases": 1}]}, "'releases' must be true or false"),
        ({"policies": [{"kind": "forecast", "must_fill": "high"}]}, "'must_fill' must be"),
        ({"policies": [{"kind": "forecast", "report_match_m": float("inf")}]}, "report_match_m"),
        ({"fleet": {"trucks": 0}}, "fleet.trucks"),
        ({"fleet": {"cost_per_km": -1.0}}, "fleet.cost_per_km must be in 0..1e+06"),
        ({"fleet": {"fixed_cost": 1e308}}, "fleet.fixed_cost must be in 0..1e+06"),
        ({"fleet": {"trucks": 10**12}}, "fleet.trucks must be in 1..1000"),
        ({"n_bins": 10**12}, "'n_bins' must be in 1..100000"),
        ({"warmup_days": 10**12}, "'warmup_days', 'history_days' must be in 1..731"),
        ({"settle_days": 10**12}, "'settle_days' must be in 0..731"),
        ({"fleet": {"shift": ["14:00", "06:00"]}}, "fleet.shift"),
        ({"fleet": {"shift": ["06:00", "06:00"]}}, "must end after it starts, got 06:00:00"),
        ({"fleet": {"break_window": ["15:00", "16:00"]}}, "lies outside its shift"),
        ({"fleet": {"break_s": 99999}}, "ends after its shift 06:00:00-14:00:00"),
        ({"sim": {"askew_share": 1.5}}, "askew_share must be in [0, 1], got 1.5"),
        ({"sim": {"askew_fill": 2.0}}, "askew_fill must be in [-1, 1], got 2.0"),
        ({"fleet": {"truck_height_m": 380}}, "fleet.truck_height_m=380.0 must be in (0, 6]"),
        ({"fleet": {"truck_width_m": 255}}, "fleet.truck_width_m=255.0 must be in (0, 5]"),
        ({"fleet": {"truck_length_m": 0}}, "fleet.truck_length_m=0.0 must be in (0, 30]"),
        ({"fleet": {"truck_axle_load_kg": 1e7}}, "fleet.truck_axle_load_kg=10000000.0 must be"),
        ({"fleet": {"truck_weight_kg": 0}}, "fleet.truck_weight_kg=0.0 must be in (0, 100000]"),
        ({"fleet": {"truck_height_m": "3.8"}}, "'fleet.truck_height_m' must be int/float"),
        ({"sweep": {"fleet.truck_weight_kg": [26e6]}}, "fleet.truck_weight_kg=26000000.0"),
        ({"sim": {"nonsense": 1}}, "sim."),
        ({"color": "blue"}, "color"),
        ({"name": ""}, "give a plain name"),
        ({"name": "../porto"}, "give a plain name"),
        ({"n_bins": "many"}, "'n_bins'"),
        ({"settle_days": -1}, "'settle_days' must be in 0..731"),
        ({"seed": -1}, "'seed' must be a whole number >= 0"),
        ({"sweep": {"seed": [1, -2]}}, "'seed' must be a whole number >= 0"),
        ({"settle_days": 1.5}, "'settle_days'"),
        ({"area": [1, 2, 0, 3]}, "'area'"),
        ({"sweep": {"fleet.trucks": []}}, "fleet.trucks"),
        ({"sweep": {"fleet.trucks": [1, "x"]}}, "give whole numbers (like 2), got 'x'"),
        ({"sweep": {"sensor_share": [0.5, True]}}, "give numbers (like 0.75), got True"),
        ({"sweep": {"forecast.must_fill": ["high"]}}, "'forecast.must_fill': give numbers"),
    ],
)
def test_errors_name_the_file_and_key(change: dict[str, object], words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(**change), source="bad.toml")
    assert "bad.toml" in str(err.value)
    assert words in str(err.value)


def test_missing_name_and_syntax_errors(tmp_path: Path) -> None:
    data = tiny_dict()
    del data["name"]
    with pytest.raises(ScenarioError, match="'name'"):
        config_from_dict(data, source="x.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ScenarioError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_missing_city_file_is_named(tmp_path: Path) -> None:
    cfg = config_from_dict(tiny_dict(city=str(tmp_path / "atlantis.osm.pbf")), source="c.toml")
    with pytest.raises(ScenarioError, match=r"atlantis\.osm\.pbf"):
        cfg.city_path()


def test_shared_data_city_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "osm").mkdir()
    (tmp_path / "osm" / "x.osm.pbf").write_bytes(b"")
    monkeypatch.setenv("BINROUTE_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    cfg = config_from_dict(tiny_dict(city="../shared/data/osm/x.osm.pbf"), source="c.toml")
    assert cfg.city_path() == tmp_path / "osm" / "x.osm.pbf"


def test_with_param_changes_one_thing(tiny_config) -> None:
    more = with_param(tiny_config, "fleet.trucks", 5)
    assert more.fleet.trucks == 5 and tiny_config.fleet.trucks == 2
    assert with_param(tiny_config, "sensor_share", 0.2).sensor_share == 0.2
    thr = with_param(tiny_config, "threshold.fill_threshold", 0.8)
    assert thr.policy("threshold-60%").fill_threshold == 0.8
    fc = with_param(tiny_config, "forecast.must_fill", 0.95)
    assert fc.policy("forecast").collection.must_fill == 0.95
    assert with_param(tiny_config, "sim.noise_sd", 0.05).sim.noise_sd == 0.05
    for bad in ("fleet.wings", "nonsense", "ghost.x", "forecast.bogus"):
        with pytest.raises(ScenarioError, match="sweep key"):
            with_param(tiny_config, bad, 1)
    with pytest.raises(ScenarioError, match=r"fleet\.trucks"):
        with_param(tiny_config, "fleet.trucks", 0)


def test_forecast_policy_flags_stay_booleans() -> None:
    off = {"kind": "forecast", "releases": False, "due_risk": 0.3}
    cfg = config_from_dict(tiny_dict(policies=[off]), source="flags.toml")
    assert cfg.policies[0].collection.releases is False
    assert cfg.policies[0].collection.due_risk == 0.3


@pytest.mark.parametrize(
    ("policy", "key", "takes"),
    [
        ({"kind": "forecast", "fill_threshold": 0.95}, "fill_threshold", "must_fill"),
        ({"kind": "forecast", "every_k_days": 7}, "every_k_days", "must_fill"),
        ({"kind": "fixed", "fill_threshold": 0.9}, "fill_threshold", "['every_k_days']"),
        ({"kind": "threshold", "must_fill": 0.8}, "must_fill", "fill_threshold"),
    ],
)
def test_keys_a_policy_kind_never_reads_are_refused(
    policy: dict[str, object], key: str, takes: str
) -> None:
    """A key the kind never reads would be silently ignored: refused, naming what it takes."""
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(policies=[policy]), source="bad.toml")
    text = str(err.value)
    assert "bad.toml" in text and repr(key) in text and repr(policy["kind"]) in text
    assert takes in text


@pytest.mark.parametrize("key", ["collection_every_days", "collection_hour"])
def test_sim_keys_the_simulator_never_reads_are_refused(key: str) -> None:
    with pytest.raises(ScenarioError, match=f"sim.*{key}.*not read.*every_k_days"):
        config_from_dict(tiny_dict(sim={key: 1}), source="bad.toml")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("forecast.fill_threshold", "forecast policies take"),
        ("fixed-2d.fill_threshold", "fixed policies take ['every_k_days']"),
        ("fixed.must_fill", "fixed policies take"),
        ("threshold.must_risk", "threshold policies take"),
        ("sim.collection_every_days", "not a [sim] key"),
        ("sim.collection_hour", "not a [sim] key"),
    ],
)
def test_sweeps_of_parameters_never_read_are_refused(name: str, words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(sweep={name: [0.5, 0.9]}), source="bad.toml")
    assert repr(name) in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(
    ("name", "values", "words"),
    [
        ("fixed.every_k_days", [0, 2], "'every_k_days' must be >= 1, got 0"),
        ("threshold.every_k_days", [-1], "'every_k_days' must be >= 1, got -1"),
        ("threshold.fill_threshold", [-0.5, 0.7], "'fill_threshold' must be a fraction"),
        ("threshold-60%.fill_threshold", [7.0], "'fill_threshold' must be a fraction"),
        ("fixed.every_k_days", [1.5], "'every_k_days' must be int"),
    ],
)
def test_swept_policy_values_are_checked_as_in_the_policy(
    name: str, values: list[object], words: str
) -> None:
    """At load time, as ``[[policies]]`` values are (0 days crashed late in a Dask worker)."""
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(sweep={name: values}), source="bad.toml")
    assert "bad.toml" in str(err.value) and repr(name) in str(err.value)
    assert words in str(err.value)


@pytest.mark.parametrize(
    "data",
    [
        {"policies": [{"kind": "threshold", "fill_threshold": 1.2}]},
        {"sweep": {"threshold.fill_threshold": [0.8, 1.2]}},
    ],
)
def test_threshold_above_full_is_refused(data: dict[str, object]) -> None:
    """A sensor reads at most 1.0: a threshold of 1.2 never collected a sensor bin (it ran
    as 'never by threshold'); refused in a policy and in a sweep, saying why and the fix."""
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(**data), source="bad.toml")
    text = str(err.value)
    assert "bad.toml" in text and "'fill_threshold' must be a fraction in (0, 1], got 1.2" in text
    assert "at most 1.0" in text and "use 1.0" in text
    assert ("policies[0]" in text) != ("'threshold.fill_threshold'" in text)


def test_threshold_of_a_full_bin_is_taken() -> None:
    cfg = config_from_dict(tiny_dict(sweep={"threshold.fill_threshold": [1.0]}), source="ok")
    assert (
        with_param(cfg, "threshold.fill_threshold", 1).policy("threshold-60%").fill_threshold == 1.0
    )


@pytest.mark.parametrize(
    ("sim", "words"),
    [
        ({"rate_median_per_day": -0.3}, "sim.rate_median_per_day must be finite and >= 0"),
        ({"rate_median_per_day": "0.3"}, "'sim.rate_median_per_day': give numbers"),
        ({"rate_median_per_day": float("inf")}, "sim.rate_median_per_day must be finite"),
        ({"step_h": 0.5}, "sim.step_h must be 1.0"),
        ({"step_cv": 0.0}, "sim.step_cv must be finite and > 0"),
        ({"spike_prob": 1.5}, "sim.spike_prob must be in [0, 1]"),
        ({"report_prob_per_h": -0.1}, "sim.report_prob_per_h must be in [0, 1]"),
        ({"gap_prob": float("nan")}, "sim.gap_prob must be in [0, 1]"),
        ({"event_min": 0.4, "event_max": 0.2}, "sim.event_min must be <= sim.event_max"),
        ({"weekday_pattern": ["a"] * 7}, "'sim.weekday_pattern': give 7 numbers"),
        ({"weekday_pattern": [1.0, -1.0, 1, 1, 1, 1, 1]}, "sim.weekday_pattern must be"),
        ({"lift_scales": 1}, "'sim.lift_scales': give true or false"),
        ({"noise_sd": True}, "'sim.noise_sd': give numbers"),
        ({"rate_sigma_log": 1e6}, "sim.rate_sigma_log must be <= 3"),
        ({"step_cv": 1e308}, "sim.step_cv must be <= 10"),
        ({"events_per_day": 1e308}, "sim.events_per_day must be <= 24"),
        ({"density_factor": 1e308}, "sim.density_factor must be <= 100"),
        ({"weekday_pattern": [1e308] * 7}, "sim.weekday_pattern must be 7 numbers in 0..1000"),
    ],
)
def test_sim_values_are_type_and_range_checked(sim: dict[str, object], words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(sim=sim), source="bad.toml")
    assert "bad.toml" in str(err.value) and words in str(err.value)
    key = next(iter(sim))
    with pytest.raises(ScenarioError, match=f"sweep key 'sim.{key}'"):  # swept: the same
        config_from_dict(tiny_dict(sweep={f"sim.{key}": [sim[key]]}), source="bad.toml")


def test_good_sim_values_are_kept() -> None:
    sim = {"rate_median_per_day": 1, "weekday_pattern": [1, 1, 1, 1, 1, 2, 0], "crew_fills": False}
    cfg = config_from_dict(tiny_dict(sim=sim), source="sim.toml")
    assert cfg.sim.rate_median_per_day == 1.0 and isinstance(cfg.sim.rate_median_per_day, float)
    assert cfg.sim.weekday_pattern == (1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.0)
    assert cfg.sim.crew_fills is False


@pytest.mark.parametrize("limit", [float("inf"), float("nan"), -1.0, 0, 1e308])
def test_time_limit_must_be_finite_and_positive(limit: float) -> None:
    """``time_limit_s = inf`` is valid TOML but no solver budget: refused, as swept too."""
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(time_limit_s=limit), source="bad.toml")
    assert "bad.toml" in str(err.value)
    assert "'time_limit_s' must be a finite number of seconds > 0" in str(err.value)
    with pytest.raises(ScenarioError, match=r"bad\.toml: key 'time_limit_s' must be a finite"):
        config_from_dict(tiny_dict(sweep={"time_limit_s": [1, limit]}), source="bad.toml")


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("name", ["a", "../b"]),  # names the output folder: one per scenario
        ("area", [[24.92, 60.16, 24.96, 60.18]]),  # not set: nothing checked its values
        ("source", ["other.toml"]),
    ],
)
def test_sweeps_of_keys_that_are_not_parameters_are_refused(key: str, values: list[object]) -> None:
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(sweep={key: values}), source="bad.toml")
    text = str(err.value)
    assert "bad.toml" in text and f"sweep key {key!r}" in text
    assert "not a top-level key a sweep can change" in text and "'sensor_share'" in text


def test_top_level_parameters_can_still_be_swept(tiny_config) -> None:
    assert with_param(tiny_config, "seed", 7).seed == 7
    assert with_param(tiny_config, "provider", "street").provider == "street"
    assert with_param(tiny_config, "time_limit_s", 1).time_limit_s == 1.0


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("fleet.trucks", 0, "fleet.trucks must be in 1..1000, got 0"),
        ("tz", "Mars/Base", "key 'tz' = 'Mars/Base' is not an IANA time zone"),
        ("days", 0, "keys 'days', 'warmup_days', 'history_days' must be in 1..731"),
        ("time_limit_s", -1.5, "'time_limit_s' must be a finite number of seconds > 0"),
    ],
)
def test_a_swept_value_the_scenario_refuses_names_its_sweep_key(
    name: str, value: object, words: str
) -> None:
    """The file's own key holds a good value: the error says the bad one is swept."""
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(sweep={name: [value]}), source="bad.toml")
    text = str(err.value)
    assert text.startswith("bad.toml: ") and words in text
    assert f"the value {value!r} of sweep key {name!r}; change it in [sweep]" in text


@pytest.mark.parametrize(
    "policies",
    [
        [{"kind": "fixed"}, {"kind": "forecast"}, {"kind": "fixed", "every_k_days": 2}],
        [{"kind": "fixed", "name": "p"}, {"kind": "forecast"}, {"kind": "threshold", "name": "p"}],
    ],
)
def test_two_policies_of_one_name_are_named_with_the_fix(policies: list[object]) -> None:
    """Also when the name is the default one a policy gets from its kind."""
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(policies=policies), source="dup.toml")
    text = str(err.value)
    assert text.startswith("dup.toml: policies[0] and policies[2] are both named")
    assert 'give each [[policies]] its own name = "..."' in text


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ({"kind": "magic"}, "key 'kind' must be one of"),
        ({"kind": "fixed", "every_k_days": 0}, "key 'every_k_days' must be >= 1, got 0"),
        ({"kind": "fixed", "fill_threshold": 0.5}, "not read by a 'fixed' policy"),
        ({"kind": "threshold", "fill_threshold": 1.2}, "'fill_threshold' must be a fraction"),
        ({"kind": "forecast", "bogus": 1}, "key(s) ['bogus'] not read by a 'forecast' policy"),
        ({"kind": "forecast", "releases": 1}, "key 'releases' must be true or false"),
        ({"kind": "forecast", "must_fill": "high"}, "key 'must_fill' must be int/float"),
        ({"kind": "forecast", "may_fill": 0.95, "must_fill": 0.9}, "may_fill"),
    ],
)
def test_a_policy_error_names_the_policy_by_its_name_or_else_its_index(
    policy: dict[str, object], words: str
) -> None:
    """A scenario's policies are known by their names (the tables' rows, the sweep keys):
    an error in one with a name says which by it, not by its place in the file
    ('policies[2]'); one without a name is still named by its index."""
    good = [{"kind": "fixed", "name": "weekly", "every_k_days": 7}, {"kind": "forecast"}]
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(policies=[*good, {**policy, "name": "fast"}]), source="bad.toml")
    assert str(err.value).startswith("bad.toml: policy 'fast': ") and words in str(err.value)
    assert "policies[" not in str(err.value)
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(policies=[*good, policy]), source="bad.toml")
    assert str(err.value).startswith("bad.toml: policies[2]: ") and words in str(err.value)


def test_a_policy_that_is_not_a_table_is_named_with_the_fix(tmp_path: Path) -> None:
    """``policies = ["fixed"]`` is valid TOML: it stopped the command with a traceback
    (AttributeError: 'str' object has no attribute 'get')."""
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\npolicies = ["fixed", "forecast"]\n')
    with pytest.raises(ScenarioError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: policies[0] is 'fixed', not a table; write each policy as a [[policies]] "
        'table, its keys on the lines below it (kind = "fixed", ...)'
    )


@pytest.mark.parametrize("name", [3, "", "  ", ["a"], True])
def test_a_policy_name_that_is_not_text_is_refused(name: object) -> None:
    """It labels the policy's rows: 3 or ['a'] were taken as the names '3' and "['a']", and
    '' left rows without a policy; now each is an error naming the entry by its index."""
    policies = [{"kind": "fixed"}, {"kind": "forecast", "name": name}]
    with pytest.raises(ScenarioError) as err:
        config_from_dict(tiny_dict(policies=policies), source="bad.toml")
    assert str(err.value).startswith(
        f"bad.toml: policies[1]: key 'name' must be text, the label of the policy's rows "
        f'in the tables (e.g. name = "weekly"), got {name!r}'
    )


def _through_json(cfg: ScenarioConfig) -> ScenarioConfig:
    """``cfg`` written as result.json's settings, read back as a scenario file would be."""
    data = json.loads(json.dumps(config_to_dict(cfg), allow_nan=False))
    return config_from_dict(data, source=cfg.source)


def test_every_catalog_scenario_reads_back_from_its_settings() -> None:
    """result.json kept the scenario's name and file only: a sweep point, or a file edited
    since, could not be repeated. Its settings now read back as the very same scenario."""
    for path in catalog().values():
        cfg = load_config(path)
        assert _through_json(cfg) == cfg, path.name


def test_a_sweep_point_reads_back_from_its_settings() -> None:
    cfg = load_config("helsinki_sweep")
    for name, values in cfg.sweep:
        point = with_param(cfg, name, values[-1])
        assert point != cfg
        assert _through_json(point) == point, name


def test_settings_name_clock_times_and_the_area_as_a_file_does() -> None:
    area = [24.93, 60.16, 24.95, 60.17]
    data = tiny_dict(area=area, start="2026-05-04", fleet={"shift": ["05:30", "13:30"]})
    settings = config_to_dict(config_from_dict(data))
    assert settings["fleet"]["shift"] == ["05:30:00", "13:30:00"]
    assert settings["area"] == area and settings["start"] == "2026-05-04"
    assert [p["name"] for p in settings["policies"]] == ["fixed-2d", "threshold-60%", "forecast"]


def test_the_trucks_size_reads_the_city_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """fleet.truck_height_m / fleet.truck_weight_kg reach the street reader (streets signed
    lower or lighter are not driven); a sweep point reads the city for its own trucks, and
    a scenario that names none reads it for the service's default truck."""
    from network import GraphSettings
    from scenarios.city import city_network

    read: list[GraphSettings] = []
    monkeypatch.setattr(
        "scenarios.city.load_network", lambda path, **kw: read.append(kw["settings"])
    )
    small = {"truck_height_m": 2.5, "truck_weight_kg": 3500}
    cfg = config_from_dict(tiny_dict(fleet=small), source="small.toml")
    city_network(cfg)
    city_network(with_param(cfg, "fleet.truck_height_m", 3))
    city_network(config_from_dict(tiny_dict(), source="default.toml"))
    assert read == [
        GraphSettings(truck_height_m=2.5, truck_weight_kg=3500.0),
        GraphSettings(truck_height_m=3.0, truck_weight_kg=3500.0),
        GraphSettings(),
    ]
    assert config_from_dict(config_to_dict(cfg), source="small.toml") == cfg


def test_the_street_rules_read_the_city_and_may_be_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    """``turn_restrictions`` / ``local_access`` / ``u_turns`` / ``street_hours`` (true by
    default) reach the street reader
    with the trucks' size, survive result.json's settings, may be swept (a run with and
    without a rule measures what it costs), and take true or false only."""
    from network import GraphSettings
    from scenarios.city import city_network

    read: list[GraphSettings] = []
    monkeypatch.setattr(
        "scenarios.city.load_network", lambda path, **kw: read.append(kw["settings"])
    )
    data = tiny_dict(turn_restrictions=False, u_turns=False, fleet={"truck_height_m": 2.5})
    data["sweep"] = {"local_access": [True, False]}
    cfg = config_from_dict(data, source="rules.toml")
    city_network(cfg)
    city_network(with_param(cfg, "local_access", False))
    city_network(config_from_dict(tiny_dict(), source="default.toml"))
    city_network(config_from_dict(tiny_dict(street_hours=False), source="hours.toml"))
    assert read == [
        GraphSettings(truck_height_m=2.5, turn_restrictions=False, u_turns=False),
        GraphSettings(
            truck_height_m=2.5, turn_restrictions=False, local_access=False, u_turns=False
        ),
        GraphSettings(),
        GraphSettings(street_hours=False),
    ]
    assert config_from_dict(config_to_dict(cfg), source="rules.toml") == cfg
    with pytest.raises(ScenarioError, match="'local_access' must be true or false, got 'no'"):
        config_from_dict(tiny_dict(local_access="no"))
