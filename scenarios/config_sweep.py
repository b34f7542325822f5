"""Sensitivity sweeps of a scenario (:func:`with_param`): one parameter set to a value,
checked as the same value in its table would be.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields, replace
from typing import Any

from fleet.errors import FleetDataError
from scenarios.config_model import PolicyConfig, ScenarioConfig, ScenarioError
from scenarios.config_sim import SIM_KEYS, check_sim
from scenarios.config_values import (
    POLICY_KEYS,
    _check,
    _every,
    _like,
    _threshold,
)

# ----------------------------------------------------------------------------- sweeps

# top-level keys a sweep cannot change: the scenario's identity (its name names the output
# folder, its source file) and the values that are not one number, flag or name
_UNSWEPT = {"name", "source", "area", "start", "fleet", "sim", "policies", "sweep"}
SWEEP_TOP_KEYS = {f.name for f in fields(ScenarioConfig)} - _UNSWEPT


def with_param(cfg: ScenarioConfig, name: str, value: Any) -> ScenarioConfig:
    """A copy of ``cfg`` with one parameter changed.

    ``name`` is a top-level key (``"sensor_share"``), ``"fleet.<field>"``, ``"sim.<field>"``
    or ``"<policy name or kind>.<field>"`` (``"threshold.fill_threshold"``,
    ``"forecast.must_fill"``; a kind changes every policy of that kind).
    """
    where = f"{cfg.source}: sweep key {name!r}"
    head, _, tail = name.partition(".")
    if not tail:
        if name not in SWEEP_TOP_KEYS:
            raise ScenarioError(
                f"{where}: not a top-level key a sweep can change; sweep one of "
                f"{sorted(SWEEP_TOP_KEYS)}, or fleet.<key>, sim.<key>, <policy>.<key>"
            )
        value = _like(getattr(cfg, name), value, where)
        return _swept(name, value, replace(cfg, **{name: value}))
    if head == "fleet":
        return _swept(
            name, value, replace(cfg, fleet=_replace_checked(cfg.fleet, tail, value, where))
        )
    if head == "sim":
        if tail not in SIM_KEYS:
            raise ScenarioError(
                f"{where}: not a [sim] key the scenarios' simulator reads; known: "
                f"{sorted(SIM_KEYS)}"
            )
        sim = _replace_checked(cfg.sim, tail, value, where)
        check_sim(sim, where)
        return _swept(name, value, replace(cfg, sim=sim))
    hits = [p for p in cfg.policies if head in (p.name, p.kind)]
    if not hits:
        raise ScenarioError(f"{where}: {head!r} is neither fleet, sim nor a policy name/kind")
    pols = tuple(_policy_with(p, tail, value, where) if p in hits else p for p in cfg.policies)
    return _swept(name, value, replace(cfg, policies=pols))


def _swept(name: str, value: Any, cfg: ScenarioConfig) -> ScenarioConfig:
    """``cfg``, a sweep point, checked as a whole; an error says it is the value swept for
    ``name`` (the key it names is right in the file, the swept value is not)."""
    try:
        return _check(cfg)
    except ScenarioError as err:
        raise ScenarioError(
            f"{err} (the value {value!r} of sweep key {name!r}; change it in [sweep])"
        ) from None


def _replace_checked(obj: Any, key: str, value: Any, where: str) -> Any:
    if key not in {f.name for f in dataclasses.fields(obj)}:
        raise ScenarioError(f"{where}: {type(obj).__name__} has no field {key!r}")
    value = _like(getattr(obj, key), value, where)
    try:
        return replace(obj, **{key: value})
    except (FleetDataError, TypeError) as err:
        raise ScenarioError(f"{where}: {err}") from None


def _policy_with(p: PolicyConfig, key: str, value: Any, where: str) -> PolicyConfig:
    """``p`` with its parameter ``key`` at ``value``, checked as in ``[[policies]]``."""
    if key not in POLICY_KEYS[p.kind]:
        raise ScenarioError(
            f"{where}: policy {p.name!r} has no parameter {key!r}; {p.kind} policies take "
            f"{sorted(POLICY_KEYS[p.kind])}"
        )
    if key == "every_k_days":
        return replace(p, every_k_days=_every(where, value))
    if key == "fill_threshold":
        return replace(p, fill_threshold=_threshold(where, value))
    return replace(p, collection=_replace_checked(p.collection, key, value, where))
