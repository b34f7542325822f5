"""``python -m benchmarks.askew_sensors``: the forecast policy with and without the
correction of sensors reading askew, on one city."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from benchmarks.askew_sensors import main
from tests.scenarios.conftest import tiny_dict


def _toml(data: dict[str, object]) -> str:
    """``data`` (flat keys, a [fleet] table and [[policies]]) as TOML text."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    fleet = data["fleet"]
    assert isinstance(fleet, dict)
    lines += ["[fleet]", *(f"{k} = {json.dumps(v)}" for k, v in fleet.items())]
    policies = data["policies"]
    assert isinstance(policies, list)
    for p in policies:
        lines += ["[[policies]]", *(f"{k} = {json.dumps(v)}" for k, v in p.items())]
    return "\n".join(lines) + "\n"


def test_askew_sensors_are_found_and_both_runs_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every sensor of a small city reads 30 points too empty; ten days of warm-up, a
    pickup every two days, let the plans find them: the output names both runs' totals
    and finds askew sensors only where there are (a correction of a good sensor would be a
    false alarm)."""
    data = tiny_dict(warmup_days=10, warmup_every_k_days=2, days=2)
    path = tmp_path / "tiny.toml"
    path.write_text(_toml(data))
    assert tomllib.loads(path.read_text())["n_bins"] == 12
    main([str(path), "--share", "1.0", "--fill", "-0.3"])
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "tiny" and (out["share"], out["fill"]) == (1.0, -0.3)
    assert set(out["corrected"]) == set(out["as_read"]) == {"forecast"}
    assert set(out["corrected"]["forecast"]) == {
        "km",
        "truck_hours",
        "overflow_events",
        "overflow_l",
        "mean_fill_at_pickup",
    }
    assert out["askew_bins"] == 9  # the sensor bins: 75 % of 12
    assert out["found_not_askew"] == 0
    assert out["found_askew"] >= out["askew_bins"] // 2, out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--share", "2"], "askew_share must be in [0, 1], got 2.0"),
        (["--fill", "-1.5"], "askew_fill must be in [-1, 1]"),
    ],
)
def test_a_share_or_fill_no_sensor_has_is_a_usage_error(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["helsinki_small", *args])
    assert stop.value.code == 2
    assert words in capsys.readouterr().err
