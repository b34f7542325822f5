"""Module sizes: GUIDE 11 keeps modules under about 400 lines with one topic each; ruff
bounds functions (statements, complexity) but not modules, so this test does. Test modules
get a looser bound: one past it is split into a package of topics (``tests/api/pipeline``,
``tests/optimiser/reroute``), its helpers and fixtures beside them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fleet", "network", "optimiser", "api", "scenarios", "binroute", "benchmarks")
MAX_LINES = 450  # "about 400": a module past this is split by topic
MAX_TEST_LINES = 1000  # the random days' harness (tests/api/service_days.py) is the longest


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _too_long(package: str, limit: int) -> list[str]:
    """The modules of ``package`` longer than ``limit`` lines, with their lengths."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        n = _lines(path)
        if n > limit:
            out.append(f"{path.relative_to(ROOT).as_posix()}: {n} lines")
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_stay_under_the_guides_size(package: str) -> None:
    """No module of ``package`` is longer than MAX_LINES: split it by topic."""
    assert _too_long(package, MAX_LINES) == []


def test_test_modules_stay_under_their_bound() -> None:
    """No module of ``tests`` is longer than MAX_TEST_LINES: split it by topic."""
    assert _too_long("tests", MAX_TEST_LINES) == []


def test_the_size_test_names_a_long_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A module past the limit is named with its length, one at it is not (so the test
    above can fail)."""
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "long.py").write_text("x = 1\n" * 11)
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * 10)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _too_long("pkg", 10) == ["pkg/sub/long.py: 11 lines"]
