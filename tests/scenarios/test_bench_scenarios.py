"""``python -m benchmarks.scenarios``: its overrides are checked like the file's own keys."""

from __future__ import annotations

import pytest

from benchmarks.scenarios import main


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--settle-days", "-1", "'settle_days' must be in 0..731"),
        ("--days", "0", "'days'"),
        ("--time-limit", "0", "'time_limit_s' must be a finite number of seconds > 0"),
    ],
)
def test_bad_override_is_a_usage_error_naming_the_key(
    flag: str, value: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["helsinki_small", flag, value])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "helsinki_small.toml" in err


def test_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["atlantis_42"])
    assert "atlantis_42" in capsys.readouterr().err
