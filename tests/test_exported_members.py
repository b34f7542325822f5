"""The public API is declared (GUIDE 12, as httpx's ``test_exported_members.py``): each
package's ``__all__`` names every public name it has and nothing it lacks, and every
module that declares ``__all__`` (a module split by topic re-exports its parts) has each
name it lists."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

LEAVES = ("fleet", "network", "optimiser")
PACKAGES = (*LEAVES, "api", "scenarios")


def _modules(package: str) -> list[str]:
    """``package`` and every module under it, by dotted name (not alembic's migration
    scripts, which run only inside alembic)."""
    root = importlib.import_module(package)
    found = pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
    return [package, *sorted(m.name for m in found if ".migrations" not in m.name)]


@pytest.mark.parametrize("package", LEAVES)
def test_a_leaf_package_declares_exactly_its_public_names(package: str) -> None:
    """What ``from package import *`` gives is what the package shows: no public name
    left out of ``__all__`` (a function added to ``__init__`` and forgotten) and none
    listed that it lacks, each once."""
    module = importlib.import_module(package)
    declared = list(module.__all__)
    public = {
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    }
    assert len(declared) == len(set(declared)), f"{package}.__all__ lists a name twice"
    assert set(declared) == public


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_each_name_its_all_lists(package: str) -> None:
    """A module whose parts moved to siblings (``optimiser.greedy``, ``api.repo``...) still
    has each name it exports, so ``from module import name`` keeps working."""
    checked = 0
    for name in _modules(package):
        module = importlib.import_module(name)
        listed = getattr(module, "__all__", None)
        if listed is None:
            continue
        checked += 1
        lacking = [x for x in listed if not hasattr(module, x)]
        assert not lacking, f"{name}.__all__ lists {lacking}, which it lacks"
        assert len(listed) == len(set(listed)), f"{name}.__all__ lists a name twice"
    assert checked > 0
