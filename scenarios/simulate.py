"""The day-stepping city simulator: the truth the policies plan against.

Unlike :func:`fleet.simulate.simulate_history` (a whole history with a scheduled emptying
rule), :class:`CitySim` advances one day at a time and empties exactly the bins the day's
plan visits, at the planned visit times. Everything exogenous is drawn up front from one
seeded generator with :mod:`fleet.simulate`'s own pieces, so every policy run on the same
seed sees the same waste (common random numbers):

* true fill increments on an hourly grid (``fleet.simulate.fill_increments``: log-normal base
  rates per bin, weekday factors per bin, gamma step noise, random events of +10..30 %);
* sensor reading times, noise, spikes and outages (``fleet.simulate.sensor_gaps``) of the bins
  with a sensor; a reading shows ``min(true, 1) + noise`` clipped to 0..1 (or a spike);
* the residual left in an emptied bin and the citizens' report draws;
* the error of the fill each truck records when it empties a bin (``PICKUP_NOISE_SD``; a
  bin found overflowing is recorded as full): the city's collection log with fills.

Physics per grid step ``[k, k + 1)`` (hours since ``start``): a bin's fill grows linearly
by ``inc[i, k]``. Emptied at ``t`` inside the step, the truck takes the true fill at ``t``
capped at 1 (``capacity_l`` litres; bags beside the bin are counted as *overflow volume*,
not as collected), and the bin restarts at its residual. An *overflow event* is a bin
passing 100 %; the *overflow volume* of an episode is the litres above capacity when the
bin is finally emptied (or at the end of the run). A bin overflowing for ``report_after_h``
hours gets a citizen report with probability ``report_prob_per_h`` per hour, once per
episode. Times are wall-clock hours in the city's zone (a DST change is ignored, as in
``fleet.simulate``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from fleet.errors import FleetDataError
from fleet.models import Bin, CitizenReport, FillReading, Inventory, PickupRecord, WeightReading
from fleet.simulate import SimConfig, fill_increments, local_hours, sensor_gaps
from fleet.weights import fills_from_weights, pickup_of_weight, weight_refused

FloatArray = NDArray[np.float64]
HOURS_PER_DAY = 24
PICKUP_NOISE_SD = 0.05  # error of the fill the truck records (lift scale or crew), fraction


@dataclass(frozen=True, slots=True)
class Pickup:
    """One bin emptied: when (hours since start), true fill then (uncapped), what was taken."""

    bin_index: int
    at_h: float
    fill: float
    litres: float
    kg: float
    overflow_l: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DayOutcome:
    """What happened in the city during one simulated day."""

    day: int
    pickups: tuple[Pickup, ...]
    overflow_events: int
    overflow_l: float
    overflowing_bins: int  # bins over 100 % at some moment of the day
    reports: int


@dataclass(slots=True)
class _Exogenous:
    """Random draws fixed at construction (shared by every policy on the same seed)."""

    inc: FloatArray  # (n, steps) fill increments per grid step
    base_rate_per_h: FloatArray
    residual: FloatArray  # (n, steps) fill left after an emptying in that step
    report_draw: FloatArray  # (n, steps) uniform draws for citizen reports
    read_bin: NDArray[np.intp]  # readings in time order: bin index, hour, noise, spike
    read_h: FloatArray
    read_noise: FloatArray
    read_spike: FloatArray  # nan: no spike; else the spike value
    pick_noise: FloatArray  # (n, steps) standard normal draws for the recorded pickup fills
    density: FloatArray  # (n,) true bulk density of each bin's contents, kg per litre
    weighs: NDArray[np.bool_]  # (n,) whose sensor also reports the weight of its contents
    weight_only: NDArray[np.bool_]  # (n,) of those, whose sensor reports the weight alone
    askew: FloatArray  # (n,) added to each level reading of the bin (0: its sensor reads true)


@dataclass(slots=True)
class CitySim:
    """A city's bins evolving hour by hour, emptied by the trucks of the day's plan.

    Create with :meth:`create`; advance with :meth:`advance_day`. Hours count from
    ``start`` (tz-aware local midnight of the first simulated day).
    """

    bins: tuple[Bin, ...]
    start: datetime
    config: SimConfig
    ex: _Exogenous
    fill: FloatArray
    step: int = 0
    over: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    over_h: FloatArray = field(default_factory=lambda: np.zeros(0))
    reported: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    read_pos: int = 0
    readings: list[FillReading] = field(default_factory=list)
    reports: list[CitizenReport] = field(default_factory=list)
    pickups: list[PickupRecord] = field(default_factory=list)
    last_emptied_h: FloatArray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def create(
        cls,
        bins: Sequence[Bin],
        *,
        start: datetime,
        days: int,
        seed: int,
        config: SimConfig | None = None,
    ) -> CitySim:
        """A city of ``bins`` for ``days`` days from ``start`` (tz-aware), seeded.

        Raises
        ------
        FleetDataError
            ``start`` is naive, the grid is not hourly, or there are no bins.
        """
        config = config or SimConfig()
        if start.tzinfo is None or start.utcoffset() is None:
            raise FleetDataError(f"start {start.isoformat()} has no time zone; add an offset")
        if config.step_h != 1.0:
            raise FleetDataError("CitySim steps hourly; set sim.step_h = 1.0")
        if not bins:
            raise FleetDataError("CitySim needs at least one bin")
        n, steps = len(bins), days * HOURS_PER_DAY
        rng = np.random.default_rng(seed)
        inc, base, _ = fill_increments(rng, n, steps, local_hours(start), config)
        fill0 = rng.uniform(0.0, config.initial_max, n)
        residual = rng.uniform(0.0, config.residual_max, (n, steps))
        report_draw = rng.random((n, steps))
        schedule = _reading_schedule(rng, bins, steps, config)
        pick_noise = rng.standard_normal((n, steps))
        density, weighs, weight_only = _weighing(bins, np.random.default_rng([seed, 1]), config)
        askew = _askew(bins, np.random.default_rng([seed, 2]), config)
        ex = _Exogenous(
            inc=inc,
            base_rate_per_h=base,
            residual=residual,
            report_draw=report_draw,
            pick_noise=pick_noise,
            density=density,
            weighs=weighs,
            weight_only=weight_only,
            askew=askew,
            **schedule,  # type: ignore[arg-type]
        )
        return cls(
            bins=tuple(bins),
            start=start,
            config=config,
            ex=ex,
            fill=fill0,
            over=fill0 >= 1.0,
            over_h=np.zeros(n),
            reported=np.zeros(n, dtype=bool),
            last_emptied_h=np.full(n, np.nan),
        )

    # ------------------------------------------------------------------ clock
    @property
    def n_steps(self) -> int:
        """Hourly steps the simulation can run."""
        return int(self.ex.inc.shape[1])

    @property
    def now_h(self) -> float:
        """Hours since ``start`` simulated so far."""
        return float(self.step)

    def at(self, hours: float) -> datetime:
        """The instant ``hours`` after ``start``."""
        return self.start + timedelta(hours=hours)

    def hours(self, at: datetime) -> float:
        """Hours from ``start`` to ``at``."""
        return (at - self.start).total_seconds() / 3600.0

    @property
    def now(self) -> datetime:
        """The current instant."""
        return self.at(self.now_h)

    # ------------------------------------------------------------------ what the city knows
    def readings_since(self, since_h: float) -> tuple[FillReading, ...]:
        """Sensor readings from ``since_h`` hours after start up to now (time order)."""
        since = self.at(since_h)
        lo = 0
        hi = len(self.readings)
        while lo < hi:  # readings are appended in time order: bisect on the time
            mid = (lo + hi) // 2
            if self.readings[mid].at < since:
                lo = mid + 1
            else:
                hi = mid
        return tuple(self.readings[lo:])

    def reports_since(self, since_h: float) -> tuple[CitizenReport, ...]:
        """Citizen reports from ``since_h`` hours after start up to now."""
        since = self.at(since_h)
        return tuple(r for r in self.reports if r.at >= since)

    def pickups_since(self, since_h: float) -> tuple[PickupRecord, ...]:
        """The fills the trucks recorded from ``since_h`` hours after start up to now."""
        since = self.at(since_h)
        return tuple(p for p in self.pickups if p.at >= since)

    def last_emptied(self) -> dict[str, datetime]:
        """The collection log: last emptying time per bin (bins never emptied are absent)."""
        return {
            b.bin_id: self.at(float(h))
            for b, h in zip(self.bins, self.last_emptied_h, strict=True)
            if not math.isnan(h)
        }

    # ------------------------------------------------------------------ stepping
    def advance_day(self, emptyings: Sequence[tuple[int, float]] = ()) -> DayOutcome:
        """Simulate the next 24 hours, emptying bin ``i`` at hour ``h`` for each ``(i, h)``.

        Emptyings outside the day (or a second one of the same bin in the same hour) are
        an error; several emptyings of a bin on different hours are allowed.
        """
        if self.step + HOURS_PER_DAY > self.n_steps:
            raise FleetDataError(f"the simulation covers {self.n_steps // 24} days; all used")
        day0 = self.step
        by_step: dict[int, list[tuple[int, float]]] = {}
        for i, h in emptyings:
            k = math.floor(h)
            if not day0 <= k < day0 + HOURS_PER_DAY:
                raise FleetDataError(
                    f"emptying of bin {self.bins[i].bin_id!r} at hour {h:.2f} is outside the "
                    f"simulated day [{day0}, {day0 + HOURS_PER_DAY})"
                )
            by_step.setdefault(k, []).append((i, h))
        day_over = self.over.copy()
        pickups: list[Pickup] = []
        events = 0
        n_reports = len(self.reports)
        for k in range(day0, day0 + HOURS_PER_DAY):
            got, ev, over_in_step = self._step(k, by_step.get(k, []))
            pickups += got
            events += ev
            day_over |= over_in_step
        return DayOutcome(
            day=day0 // HOURS_PER_DAY,
            pickups=tuple(pickups),
            overflow_events=events,
            overflow_l=float(sum(p.overflow_l for p in pickups)),
            overflowing_bins=int(day_over.sum()),
            reports=len(self.reports) - n_reports,
        )

    def _step(
        self, k: int, emptied: Sequence[tuple[int, float]]
    ) -> tuple[list[Pickup], int, NDArray[np.bool_]]:
        ex = self.ex
        rate = ex.inc[:, k]
        f0 = self.fill.copy()
        t_e = np.full(f0.size, np.inf)
        pickups: list[Pickup] = []
        events = 0
        over_seen = self.over.copy()
        for i, h in emptied:
            if math.isfinite(t_e[i]):
                raise FleetDataError(f"bin {self.bins[i].bin_id!r} emptied twice in hour {k}")
            t_e[i] = h
            true = float(f0[i] + (h - k) * rate[i])
            if true >= 1.0 and not self.over[i]:
                events += 1
            over_seen[i] |= true >= 1.0
            b = self.bins[i]
            litres = min(true, 1.0) * b.capacity_l
            over_l = max(true - 1.0, 0.0) * b.capacity_l
            kg = litres * float(ex.density[i])
            pickups.append(Pickup(i, h, true, litres, kg, over_l))
            seen = 1.0 if true >= 1.0 else true + PICKUP_NOISE_SD * ex.pick_noise[i, k]
            self.pickups.append(self._logged(b, h, min(max(seen, 0.0), 1.0), kg))
            self.over[i] = False
            self.reported[i] = False
            self.over_h[i] = 0.0
            self.last_emptied_h[i] = h
        self._readings(k, f0, rate, t_e, ex.residual[:, k])
        hit = np.isfinite(t_e)
        end = np.where(hit, ex.residual[:, k] + (k + 1 - np.where(hit, t_e, 0.0)) * rate, f0 + rate)
        now_over = end >= 1.0
        events += int((now_over & ~self.over).sum())
        self.over = now_over
        self.fill = end
        self.over_h = np.where(now_over, self.over_h + 1.0, 0.0)
        self._reports(k)
        self.step = k + 1
        return pickups, events, over_seen | now_over

    def _logged(self, b: Bin, h: float, seen: float, kg: float) -> PickupRecord:
        """The trucks' log of emptying ``b`` at hour ``h``, as the service logs a truck's
        ``visit_done``: the fill the crew saw (``crew_fills``), the weight the lift scale
        took (``lift_scales``), both, or neither (an emptying without a fill); a weight
        alone is stored as the service stores it (its fill at the bin's planning density),
        and one the service refuses is left out of the report."""
        cfg = self.config
        weight = kg if cfg.lift_scales else None
        if cfg.crew_fills:
            return PickupRecord(
                bin_id=b.bin_id, at=self.at(h), fill_fraction=seen, weight_kg=weight
            )
        if weight is None or weight_refused(b, weight) is not None:
            return PickupRecord(bin_id=b.bin_id, at=self.at(h), fill_fraction=None)
        return pickup_of_weight(b, self.at(h), weight)

    def _readings(
        self, k: int, f0: FloatArray, rate: FloatArray, t_e: FloatArray, res: FloatArray
    ) -> None:
        ex, cfg = self.ex, self.config
        lo = self.read_pos
        hi = int(np.searchsorted(ex.read_h, k + 1, side="left"))
        self.read_pos = hi
        if hi <= lo:
            return
        i = ex.read_bin[lo:hi]
        h = ex.read_h[lo:hi]
        before = h < t_e[i]
        since = h - np.where(before, h, t_e[i])  # hours since emptied (0 before: not inf)
        true = np.where(before, f0[i] + (h - k) * rate[i], res[i] + since * rate[i])
        val = np.minimum(true, 1.0) + ex.askew[i] + cfg.noise_sd * ex.read_noise[lo:hi]
        spike = ex.read_spike[lo:hi]
        val = np.clip(np.where(np.isnan(spike), val, spike), 0.0, 1.0)
        kg = np.clip(true, 0.0, 1.0) * ex.density[i]  # kg per litre of capacity, x capacity_l below
        got: list[FillReading | WeightReading] = []
        for bi, hh, v, w in zip(i, h, val, kg, strict=True):
            b, at = self.bins[int(bi)], self.at(float(hh))
            weight = float(w * b.capacity_l) if ex.weighs[bi] else None
            if ex.weight_only[bi] and weight is not None:  # those weigh too
                got.append(WeightReading(bin_id=b.bin_id, at=at, weight_kg=weight))
            else:
                got.append(
                    FillReading(bin_id=b.bin_id, at=at, fill_fraction=float(v), weight_kg=weight)
                )
        self.readings += self._as_stored(got)

    def _as_stored(self, got: list[FillReading | WeightReading]) -> list[FillReading]:
        """The readings as the service stores them: a weight alone becomes a fill at the
        bin's planning density, at most ``MAX_FILL`` (one no waste could weigh is refused,
        and lost)."""
        if not any(isinstance(r, WeightReading) for r in got):
            return [r for r in got if isinstance(r, FillReading)]
        lookup = Inventory(bins=self.bins, depots=(), vehicles=(), sites=())
        return [r for r in fills_from_weights(lookup, got) if isinstance(r, FillReading)]

    def _reports(self, k: int) -> None:
        cfg = self.config
        fire = (self.over_h >= cfg.report_after_h) & ~self.reported
        fire &= self.ex.report_draw[:, k] < cfg.report_prob_per_h
        at = self.at(k + 1.0)
        for i in np.flatnonzero(fire):
            self.reports.append(
                CitizenReport(
                    report_id=f"r{len(self.reports) + 1}",
                    at=at,
                    bin_id=self.bins[int(i)].bin_id,
                    text="bin overflowing, bags on the pavement",
                )
            )
        self.reported |= fire

    def open_overflow_l(self) -> float:
        """Litres above capacity in bins overflowing now (not yet emptied)."""
        cap = np.array([b.capacity_l for b in self.bins], dtype=float)
        return float((np.maximum(self.fill - 1.0, 0.0) * cap).sum())


def _weighing(
    bins: Sequence[Bin], rng: np.random.Generator, cfg: SimConfig
) -> tuple[FloatArray, NDArray[np.bool_], NDArray[np.bool_]]:
    """Each bin's true bulk density (kg per litre; its planning density when the config
    spreads none), whether its sensor also weighs (a ``weigh_share`` of the sensor bins),
    and whether it weighs only (a ``weight_only_share`` of those). ``rng`` is a stream of
    its own: the city's other draws do not depend on these, nor the first two on the last."""
    n = len(bins)
    planned = np.array([b.density for b in bins], dtype=float)
    spread = np.exp(cfg.density_sigma_log * rng.standard_normal(n))
    sensors = np.array([b.has_sensor for b in bins], dtype=bool)
    weighs = sensors & (rng.random(n) < cfg.weigh_share)
    weight_only = weighs & (rng.random(n) < cfg.weight_only_share)
    return planned * cfg.density_factor * spread, weighs, weight_only


def _askew(bins: Sequence[Bin], rng: np.random.Generator, cfg: SimConfig) -> FloatArray:
    """What each bin's sensor adds to its level readings: ``cfg.askew_fill`` for an
    ``askew_share`` of the sensor bins, 0 for the others. ``rng`` is a stream of its own:
    the city's other draws do not depend on it."""
    sensors = np.array([b.has_sensor for b in bins], dtype=bool)
    askew = sensors & (rng.random(len(bins)) < cfg.askew_share)
    return np.where(askew, cfg.askew_fill, 0.0)


def _reading_schedule(
    rng: np.random.Generator, bins: Sequence[Bin], steps: int, cfg: SimConfig
) -> dict[str, NDArray[np.intp] | FloatArray]:
    """Reading times (sorted), noise and spikes of the sensor bins over ``steps`` hours."""
    sensors = np.array([i for i, b in enumerate(bins) if b.has_sensor], dtype=np.intp)
    m = int(steps // cfg.reading_every_h)
    if sensors.size == 0 or m == 0:
        empty = np.zeros(0)
        return {
            "read_bin": np.zeros(0, dtype=np.intp),
            "read_h": empty,
            "read_noise": empty,
            "read_spike": empty,
        }
    phase = rng.uniform(0.0, cfg.reading_every_h, sensors.size)
    h: FloatArray = phase[:, None] + np.arange(m)[None, :] * cfg.reading_every_h
    noise = rng.standard_normal(h.shape)
    spike: FloatArray = np.where(
        rng.random(h.shape) < cfg.spike_prob, rng.uniform(0.0, 1.0, h.shape), np.nan
    )
    keep = (h < steps) & ~sensor_gaps(rng, h, cfg)
    rows = np.broadcast_to(sensors[:, None], h.shape)[keep]
    order = np.argsort(h[keep], kind="stable")
    return {
        "read_bin": rows[order].astype(np.intp),
        "read_h": h[keep][order],
        "read_noise": noise[keep][order],
        "read_spike": spike[keep][order],
    }
