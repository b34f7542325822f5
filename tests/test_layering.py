"""Import rules: data flows one way (fleet, network -> optimiser -> api, scenarios)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fleet", "network", "optimiser", "api", "scenarios", "binroute")

# package -> first-party packages it may import
ALLOWED = {
    "fleet": set(),
    "network": set(),
    "optimiser": {"fleet", "network"},
    "api": {"fleet", "network", "optimiser"},
    "scenarios": {"fleet", "network", "optimiser"},
    "binroute": {"fleet", "network", "optimiser", "api", "scenarios"},
}
# third-party engines and the one module each that may import them
ENGINES = {
    "ortools": {"optimiser/_ortools/model.py"},
    "pyvrp": {
        "optimiser/_pyvrp/model.py",
        "optimiser/_pyvrp/search.py",
        "optimiser/_pyvrp/engine.py",
    },
    "osmium": {"network/osm.py"},
    "opening_hours": {"network/hours.py"},
    "babel": {"network/language.py"},
    "numba": {"network/fastpath/build.py", "network/fastpath/query.py"},
    "routingkit_cch": {"network/fastpath/build.py"},
    "fastapi": None,  # only api/
    "pydantic": None,  # only api/
}


@functools.cache
def _imports(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_first_party_imports_follow_the_layers(package: str) -> None:
    """Each package imports only the packages below it."""
    others = set(PACKAGES) - {package}
    for path in _modules(package):
        bad = (_imports(path) & others) - ALLOWED[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_each_engine_is_imported_in_one_place(engine: str) -> None:
    """OR-Tools, PyVRP, pyosmium, opening_hours and Babel have one adapter module each; web
    libraries stay in api."""
    for package in PACKAGES:
        for path in _modules(package):
            rel = path.relative_to(ROOT).as_posix()
            if engine not in _imports(path):
                continue
            allowed = ENGINES[engine]
            if allowed is None:
                assert rel.startswith("api/"), f"{rel} imports {engine}; only api/ may"
            else:
                assert rel in allowed, f"{rel} imports {engine}; only {sorted(allowed)} may"


def test_the_layering_test_sees_imports(tmp_path: Path) -> None:
    """The import scanner finds both import forms (so the rules above can fail)."""
    sample = tmp_path / "m.py"
    sample.write_text("import ortools.constraint_solver\nfrom fleet.models import Bin\n")
    assert _imports(sample) == {"ortools", "fleet"}
