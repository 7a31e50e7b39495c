"""A per-asset streaming model of healthy behaviour that scores every sample.

Each condition signal is predicted from the operating point, so a new speed or load is not
mistaken for a fault; the score is the largest persistent deviation from that prediction, so a
small shift that lasts is seen as surely as a large one that does not.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from river import base

from maintenance.regression import SharedRegression
from maintenance.thermal import ThermalRegression

MAX_LOAD = 4.0  # u² above this (twice the rated driver) is counted as this much heat
SPREAD_GATE = 3.0  # a persistent deviation further off than this many of its spreads is not learned as healthy
SPREAD_LEARNING = 24.0  # smoothing time constants of readings before the persistent deviations' spread is trusted
DEVIATION_CAP = 12.0  # one reading moves a persistent deviation by at most this many healthy deviations
BRIDGED = 0.25  # an interval up to this fraction of the shortest thermal time constant may be bridged (_bridge)
GAP_INTERVALS = 3.0  # as may one up to this many times the usual interval between samples
INTERVAL_RATE = 0.05  # how fast the usual interval follows the intervals seen


class Assessment(NamedTuple):
    """One sample as the detector saw it."""

    score: float  # largest |persistent deviation|, or ``limit_score`` when a datasheet limit is crossed
    deviations: tuple[float, ...]  # per condition metric, this reading, in healthy standard deviations, signed
    expected: tuple[float, ...]  # per condition metric, the healthy value at this operating point
    persistent: tuple[float, ...] = ()  # per condition metric, the smoothed deviation in its healthy spread
    beyond_limits: bool = False  # a datasheet limit is crossed
    doubtful: tuple[bool, ...] = ()  # per condition metric: the model's own uncertainty is most of its spread


class ConditionDetector(base.AnomalyDetector):
    """Residual-based detector for one asset.

    With ``u = driver / nominal``, signals that follow the operating point at once (flow,
    pressure, current, vibration) are predicted from ``1, u, u², u³`` by recursive least
    squares. The ``thermal`` ones are heated by two sources, ``u²`` (losses growing with load)
    and the unit running at all (friction, iron losses), through a first-order lag whose time
    constant is learned among ``time_constants`` (see :mod:`maintenance.thermal`), so
    temperatures are predicted through load changes, stops and cold starts alike. While a
    temperature is still heading for equilibrium its prediction is trusted to within
    ``transient_tolerance`` of the remaining transient, and no closer than the time constants
    still in contention disagree: a first cold start is a guess, not a fault.

    A residual is standardised by its healthy spread times ``sqrt(1 + h)``, ``h`` being the
    leverage of the operating point: an operating point never seen before is uncertain, scores
    low, and is learned within a few samples instead of raising an alarm.

    The score is not one reading's deviation but a *persistent* one: the readings' deviations,
    each capped at ``DEVIATION_CAP``, averaged over ``smoothing`` seconds and measured in the
    healthy spread of that average. That spread is learned from healthy readings only (a plain
    average for as long as ``memory``: a slow wander takes minutes to show its full spread), is
    taken as wide as a single reading's until ``SPREAD_LEARNING`` time constants of them have been
    seen (a fault right after start-up is still seen, if less early), and is never assumed
    narrower than the average of independent readings would be, counting no more than one
    independent reading a second. At a reading a second, a flow that drops by two healthy standard
    deviations and stays there scores about 6 within half a minute, as high as a single reading can
    move it from nothing: a pump whose inlet valve is closing is seen without waiting for readings
    far off. The part of a deviation that is the model's own uncertainty (the
    leverage, a thermal transient) is not shrunk by averaging and is not counted as if it were.

    The regressions learn robustly rather than behind a gate: a sample whose largest deviation is
    above ``huber`` is learned with weight ``huber / deviation``. At a new operating point the
    leverage dominates and the model still adapts at once; at a known one a developing fault moves
    it by a small step per sample. Refusing to learn outright would lock the model out of every
    operating point it had not yet seen. The healthy spreads of the residuals, though, are learned
    from samples within ``huber`` only. A signal's healthy level (the offset of its residuals)
    follows slowly (``drift``), or within ``wander_drift`` for a signal that *wanders* while
    healthy: one whose residual moves less from one reading to the next than ``wander`` times what
    independent readings would (a temperature following the room). The caller stops learning
    entirely while an alert is open (``learn=False``); the wandering signals, though, go on
    following their level then, except while they read more than ``DEVIATION_CAP`` off, so that a
    room warming during an alert does not hold the alert open once its cause has gone.

    A gap in the data is not a fault. Across an interval the thermal state is advanced as if the
    newer sample's operating point had held throughout: as good as the readings allow when they
    come every few seconds. Across a longer gap (see ``_bridge``) the load may have changed at any
    moment and the temperatures may have gone anywhere their lags allow. So a gap is taken as a
    restart of what the detector cannot know, as a start is: for ``settle`` seconds nothing is
    scored or learned, and the thermal state is restarted from the temperatures read meanwhile:
    what the lagged heat sources do not explain of them is kept in the state and fades with the
    lag (see :mod:`maintenance.thermal`). The baseline learned before the gap is kept. Without
    thermal metrics nothing depends on the past but the persistent deviations, and only an
    interval longer than ``settle`` is taken as a restart (the unit may have stopped meanwhile).

    Parameters
    ----------
    condition
        The metrics scored.
    thermal
        Those of ``condition`` that follow the operating point with a thermal lag, if any.
    driver
        The operating-point metric (``None``: the signals are assumed independent of it).
    nominal
        The driver's rated value, so features stay near 1.
    running_metric, running_min
        Below ``running_min`` the unit is stopped (or passing through a start or a stop):
        nothing is scored or learned, only the thermal state follows the driver.
    time_constants
        The range (s) of thermal time constants considered, on a grid 10 % apart.
    thermal_every
        Seconds between the readings the thermal model learns from.
    limits
        ``{metric: (low, high)}`` datasheet limits; crossing one scores ``limit_score`` at once.
    warm_up
        Running samples learned before scoring starts.
    settle
        Seconds after a start (or a gap in the data) that are neither scored nor learned.
    transient_tolerance
        Relative error allowed in a predicted thermal transient.
    huber
        Score beyond which samples are down-weighted when learned, and left out of the spread.
    drift
        Time constant (s) with which the healthy level of the other signals may move (sensors
        ageing); long, so that a signal creeping away is seen as creeping.
    ambient
        Time constant (s) with which temperatures follow the ambient: short, as the room warms
        and cools by a few degrees over hours while a fault heats a unit by degrees in minutes.
    memory
        Time constant (s) over which the healthy spread is averaged.
    ridge
        Prior precision of the regression weights relative to the noise; small is a weak prior.
    limit_score
        The score of a sample beyond a datasheet limit.
    smoothing
        Time constant (s) of the average that makes a deviation persistent.
    wander
        A signal whose successive residuals differ by less than this fraction of what independent
        readings would differ by wanders while healthy.
    wander_drift
        Time constant (s) with which the healthy level of a wandering signal follows it.

    Examples
    --------

    >>> detector = ConditionDetector(condition=("flow",), driver="speed", nominal=3000.0, warm_up=20)
    >>> for t in range(300):
    ...     speed = 3000.0 if (t // 50) % 2 else 2400.0
    ...     detector.learn_one({"speed": speed, "flow": speed / 25 + (t % 3 - 1) * 0.5}, t=t)
    >>> detector.score_one({"speed": 2400.0, "flow": 96.0}, t=300) < 2
    True

    A flow 6 m3/h short for a few seconds (the detector is told not to learn from it):

    >>> [round(detector.assess_one({"speed": 2400.0, "flow": 90.0}, t=300 + s, learn=False).score) for s in range(4)]
    [6, 12, 16, 20]

    """

    def __init__(
        self,
        condition: tuple[str, ...] = ("vibration_rms_mm_s",),
        thermal: tuple[str, ...] | None = None,
        driver: str | None = None,
        nominal: float = 1.0,
        running_metric: str | None = None,
        running_min: float = 0.0,
        time_constants: tuple[float, float] = (20.0, 3000.0),
        thermal_every: float = 5.0,
        limits: dict[str, tuple[float | None, float | None]] | None = None,
        warm_up: int = 120,
        settle: float = 30.0,
        transient_tolerance: float = 0.05,
        huber: float = 3.0,
        drift: float = 1800.0,
        ambient: float = 300.0,
        memory: float = 3600.0,
        ridge: float = 1e-6,
        limit_score: float = 12.0,
        smoothing: float = 5.0,
        wander: float = 0.7,
        wander_drift: float = 50.0,
    ) -> None:
        positive = (nominal, ridge, huber, drift, ambient, memory, thermal_every, smoothing, wander_drift)
        if min(positive) <= 0 or warm_up < 0:
            raise ValueError(
                "nominal, ridge, huber, drift, ambient, memory, thermal_every, smoothing and wander_drift "
                "must be positive"
            )
        if not 0 <= wander <= 1:
            raise ValueError("wander must lie in [0, 1]")
        if not set(thermal or ()) <= set(condition):
            raise ValueError("thermal metrics must be among the condition metrics")
        if not 0 < time_constants[0] <= time_constants[1]:
            raise ValueError("time_constants must be an increasing positive range")
        self.condition = condition
        self.thermal = thermal
        self.driver = driver
        self.nominal = nominal
        self.running_metric = running_metric
        self.running_min = running_min
        self.time_constants = time_constants
        self.thermal_every = thermal_every
        self.limits = limits
        self.warm_up = warm_up
        self.settle = settle
        self.transient_tolerance = transient_tolerance
        self.huber = huber
        self.drift = drift
        self.ambient = ambient
        self.memory = memory
        self.ridge = ridge
        self.limit_score = limit_score
        self.smoothing = smoothing
        self.wander = wander
        self.wander_drift = wander_drift

        self._limit_checks = tuple((m, lo, hi) for m, (lo, hi) in (limits or {}).items())
        lagged = thermal if thermal and driver is not None else ()
        static = tuple(m for m in condition if m not in lagged)
        low, high = time_constants
        grid = tuple(low * 1.1**i for i in range(int(math.log(high / low) / math.log(1.1)) + 1))
        self._static = SharedRegression(1 if driver is None else 4, len(static), ridge)
        self._thermal = ThermalRegression(
            grid, 2, len(lagged), ridge, memory=max(1, round(memory / thermal_every))
        )
        # where each model's targets sit in ``condition``
        self._static_at = [condition.index(m) for m in static]
        self._thermal_at = [condition.index(m) for m in lagged]
        self._offset_tracked = frozenset(self._static_at)  # the thermal candidates track their own
        # per metric: offset of the residuals (drift), their variance and its root
        self._bias = [0.0] * len(condition)
        self._var = [0.0] * len(condition)
        self._sd = [1.0] * len(condition)
        # per metric: the persistent deviation (an exponential average of the readings' deviations),
        # its healthy variance, and the variance of the residual's steps from one reading to the next
        self._smooth = [0.0] * len(condition)
        self._smooth_var = [0.0] * len(condition)
        self._step_var = [0.0] * len(condition)
        self._last_residual: list[float | None] = [None] * len(condition)
        self._smooth_learned_s = 0.0  # seconds of healthy samples the persistent spread was learned from
        self._n_stats = 0
        self._thermal_due = -math.inf  # when the thermal model next learns
        self._dt = 1.0  # seconds since the previous sample: what one learned sample is worth
        self._heat: np.ndarray | None = None  # lag states of the thermal model
        self._t: float | None = None
        self._started: float | None = None
        self.n_learned = 0
        self._interval: float | None = None  # the usual time between samples
        self._restarting = False  # the thermal state is restarted from the readings (a gap in the data came before)
        self._restart_count = 0  # readings that restart has taken in

    def __setstate__(self, state: dict) -> None:
        # a checkpoint written before a gap in the data restarted the thermal state holds none of what
        # that needs, and a thermal state without the temperatures' unexplained part (none, then)
        self.__dict__.update({"_interval": None, "_restarting": False, "_restart_count": 0})
        self.__dict__.update(state)
        heat = self._heat
        if heat is not None and heat.ndim == 2 and heat.shape[1] < self._thermal.width:
            self._heat = np.pad(heat, ((0, 0), (0, self._thermal.width - heat.shape[1])))

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over and samples are scored."""
        return self.n_learned >= self.warm_up

    # -- river API -------------------------------------------------------------------------------

    def learn_one(self, x: dict, t: float | None = None) -> None:
        """Advance the clock and thermal state; learn ``x`` when the unit runs, is settled and within limits."""
        self.assess_one(x, t)

    def score_one(self, x: dict, t: float | None = None) -> float:
        """The score of ``x`` at time ``t`` (0 when the unit is stopped or settling); changes nothing."""
        step = self._advance(x, t)
        if step is None:
            return 0.0
        t, heat, operating = step
        started = self._started_at(t, operating, self._gap(t))
        if started is None or t - started < self.settle:
            return 0.0
        dt = math.inf if self._t is None or self._started is None else t - self._t
        return self._evaluate(x, dt, operating, heat)[0].score

    # -- the path the monitor takes: score, then learn, computed once ---------------------------

    def assess_one(self, x: dict, t: float | None = None, learn: bool = True) -> Assessment | None:
        """Score ``x``, then learn from it unless ``learn`` is false.

        While not learning, the signals that wander on their own still follow their level.

        ``None`` when the sample is not assessed: the unit is stopped or settling, the driver is
        missing, or ``t`` is not newer than the last sample's.
        """
        step = self._advance(x, t)
        if step is None:
            return None
        t, heat, operating = step
        gap = self._gap(t)
        self._started = self._started_at(t, operating, gap)
        if gap and self._thermal_at:
            self._restarting, self._restart_count = True, 0
        if self._restarting and self._started is not None:
            if t - self._started < self.settle:
                # settling after a gap: the temperatures read restart the thermal state
                temperatures = [x.get(self.condition[j]) for j in self._thermal_at]
                if None not in temperatures:
                    self._restart_count += 1
                    heat = self._thermal.restart(heat, np.array(temperatures, dtype=float), self._restart_count)
            else:
                self._restarting = False
        # the thermal state follows the driver whether or not the unit runs: a stopped motor cools
        self._heat = heat
        running = self._t is not None and self._started is not None and self._started < t
        dt = t - self._t if running else math.inf
        if self._t is not None:
            self._dt = t - self._t
            # a gap counts as no longer than the bridge: the usual interval follows the sampling, not the outages
            seen = min(self._dt, self._bridge())
            usual = self._interval
            self._interval = seen if usual is None else usual + INTERVAL_RATE * (seen - usual)
        self._t = t
        if self._started is None or t - self._started < self.settle:
            # stopped or starting: what the readings did before says nothing about what they will do
            self._smooth = [0.0] * len(self.condition)
            self._last_residual = [None] * len(self.condition)
            return None
        assessment, learning, smooth, instant = self._evaluate(x, dt, operating, heat)
        self._smooth = smooth
        if learn and learning is not None:
            self._learn(learning, assessment.expected, 1.0 if instant <= self.huber else self.huber / instant)
        else:
            self._last_residual = [None] * len(self.condition)
            if learning is not None and self.ready:
                self._follow_wandering(learning[1], assessment.expected)
        return assessment

    def adopt_level(self) -> None:
        """Take the signals' present level as healthy (an episode is over and the asset runs on).

        Each signal's healthy level moves by its persistent deviation, which starts again from zero.
        """
        for j in self._static_at:
            self._bias[j] += self._smooth[j] * self._sd[j]
        if self._thermal_at:
            shift = np.array([self._smooth[j] * self._sd[j] for j in self._thermal_at])
            self._thermal.shift(shift)
        self._smooth = [0.0] * len(self.condition)

    # -- internals -------------------------------------------------------------------------------

    def _wandering(self, j: int) -> bool:
        """Whether signal ``j`` wanders while healthy: from one reading to the next it moves less than noise would."""
        return self._step_var[j] < 2.0 * self.wander * self.wander * self._var[j]

    def _follow_wandering(self, observed: list, expected: tuple[float, ...]) -> None:
        """While nothing is learned (an alert is open), the signals that wander on their own still follow their level.

        A temperature that went on drifting with the room during an alert must not hold the alert
        open by itself once the cause has gone; each step is bounded as when learning.
        """
        a = -math.expm1(-self._dt / self.wander_drift)
        for j in self._static_at:
            if self._wandering(j):
                e = observed[j] - expected[j]
                if abs(e) > DEVIATION_CAP * self._sd[j]:
                    continue  # that far off is the fault itself, not the signal wandering
                bound = self.huber * self._sd[j]
                self._bias[j] += a * _clip(e, bound)

    def _advance(self, x: dict, t: float | None):
        """The time, the thermal state and the operating point ``(u, running, heat sources)`` after ``x``.

        Nothing is stored. The operating point is ``None`` when the driver is missing; the whole
        step is ``None`` when ``x`` is not newer than the last sample.
        """
        if t is None:
            t = 0.0 if self._t is None else self._t + 1.0
        elif self._t is not None and t <= self._t:
            return None
        if self.driver is None:
            return t, self._heat, (1.0, True, ())
        value = x.get(self.driver)
        if value is None:
            return t, self._heat, None
        u = value / self.nominal
        turning = x.get(self.running_metric, 0.0) if self.running_metric is not None else 0.0
        running = self.running_metric is None or turning >= self.running_min
        # a start's inrush (several times rated current, for a second or two) heats little
        sources = (min(u * u, MAX_LOAD), 1.0 if running else 0.0)
        if self._heat is None:
            heat = self._thermal.equilibrium(sources)  # first sight: assume equilibrium
        else:
            heat = self._thermal.advance(self._heat, sources, t - self._t)
        return t, heat, (u, running, sources)

    def _started_at(self, t: float, operating: tuple | None, gap: bool) -> float | None:
        """When the unit started running, counting a gap in the data as a restart; ``None``: not running."""
        if operating is None or not operating[1]:
            return None
        if self._started is None or gap:
            return t
        return self._started

    def _gap(self, t: float) -> bool:
        """Whether the data has a gap before ``t``: an interval longer than :meth:`_bridge`."""
        return self._t is not None and t - self._t > self._bridge()

    def _bridge(self) -> float:
        """The longest interval between samples that is not a gap in the data.

        Across an interval the thermal state holds the newer sample's operating point; had it changed
        just after the older sample, a lag of time constant ``tau`` is then off by ``1 - exp(-dt / tau)``
        of the step. Up to a quarter of the shortest time constant considered, that is about a fifth
        of the step for the fastest candidate and a few percent for lags of minutes (within the
        ``transient_tolerance`` a transient is judged with). On the simulated units, whose lags are 3-5
        minutes, an interval ending just after a change of operating point moved a temperature's
        persistent deviation by at most 0.3 at 6 s, but by up to 2 at 20-30 s and 5.6 at 60 s. An asset
        that reports less often is bridged across a few of its usual intervals, as it always has been. An
        interval longer than ``settle`` is a gap whatever the sampling, and the only one without
        thermal metrics: there a short gap leaves nothing unknown.
        """
        if not self._thermal_at or self._interval is None:
            return self.settle
        return min(self.settle, max(BRIDGED * self.time_constants[0], GAP_INTERVALS * self._interval))

    def _evaluate(self, x: dict, dt: float, operating: tuple, heat: np.ndarray | None):
        """The assessment, what learning from the sample needs (``None``: it must not be learned), the
        persistent deviations after it (raw, not yet in their healthy spread) and its largest deviation.

        ``dt`` is the time since the previous assessed reading (infinite: there was none).
        """
        n = len(self.condition)
        deviations = [0.0] * n
        expected = [0.0] * n
        observed: list[float | None] = [x.get(m) for m in self.condition]
        ready = self.n_learned >= self.warm_up
        # deviations are computed as soon as there is a spread to measure them with (the persistent
        # ones learn their own spread from them during the warm-up), and reported once it is over
        measured = self._n_stats > 0
        u = operating[0]
        learning: dict = {}

        # the share of each deviation's variance that is the model's own uncertainty (an operating point
        # little seen, a thermal transient): it persists from one reading to the next, so averaging
        # the readings does not shrink it
        systematic = [0.0] * n
        doubtful = [False] * n  # the model's uncertainty is most of the spread: too unsure to tell
        if self._static_at:
            f = np.array([1.0, u, u * u, u * u * u]) if self.driver is not None else np.ones(1)
            pf, h = self._static.leverage(f)
            predicted = self._static.predict(f).tolist()
            learning["static"] = (pf, h)
            for j, raw in zip(self._static_at, predicted, strict=False):
                expected[j] = raw + self._bias[j]
                if measured and observed[j] is not None:
                    deviations[j] = (observed[j] - expected[j]) / (self._sd[j] * math.sqrt(1.0 + h))
                    systematic[j] = h / (1.0 + h)
                    doubtful[j] = h > 1.0

        if self._thermal_at:
            outlook = self._thermal.outlook(heat, operating[2])
            learning["thermal"] = (heat, [h for _, h, _, _, _ in outlook])
            for j, (predicted, h, settled, doubt, unexplained) in zip(self._thermal_at, outlook, strict=False):
                expected[j] = predicted  # the candidates follow the drift themselves
                if measured and observed[j] is not None:
                    slack = self.transient_tolerance * (settled - predicted)
                    sd = self._sd[j]
                    spread = sd * sd * (1.0 + h) + slack * slack + doubt * doubt
                    deviations[j] = (observed[j] - predicted) / math.sqrt(spread)
                    # a lagged model's errors drift with the heat it has yet to learn: all of it persists
                    systematic[j] = 1.0
                    # unsure, too, while much of the prediction is what a gap left unexplained: a fault
                    # that was there before the gap is in it, and shows again as it fades
                    doubtful[j] = sd * sd < 0.5 * spread or abs(unexplained) > sd

        # persistent deviations: each reading's deviation, capped, averaged over ``smoothing`` seconds
        weight = 1.0 if dt == math.inf else -math.expm1(-dt / self.smoothing)
        smooth = list(self._smooth)
        persistent = [0.0] * n
        # never assumed steadier than the average of independent readings would be, counting no more
        # than one independent reading a second: faster ones share the same disturbances
        independent = -math.expm1(-max(dt, 1.0) / self.smoothing)
        floor = independent / (2.0 - independent)
        # the spread of an average over seconds takes minutes to learn (a slow wander must have shown):
        # until then it is taken as wide as a single reading's
        if self._smooth_learned_s < SPREAD_LEARNING * self.smoothing:
            floor = 1.0
        for j in range(n):
            if observed[j] is None:
                continue
            z = deviations[j]
            smooth[j] += weight * (_clip(z, DEVIATION_CAP) - smooth[j])
            if ready and self._smooth_var[j] > 0.0:
                q = systematic[j]
                # never wider than a single reading's either: an average cannot spread more than what it averages
                spread = min(max(self._smooth_var[j], floor), 1.0)
                persistent[j] = smooth[j] / math.sqrt(spread * (1.0 - q) + q)
        if not ready:
            deviations = [0.0] * n
        instant = max(map(abs, deviations), default=0.0)
        score = max(map(abs, persistent), default=0.0)
        within_limits = True
        for name, low, high in self._limit_checks:
            y = x.get(name)
            if y is not None and ((low is not None and y < low) or (high is not None and y > high)):
                within_limits = False
                score = max(score, self.limit_score)
        assessment = Assessment(
            score, tuple(deviations), tuple(expected), tuple(persistent), not within_limits, tuple(doubtful)
        )
        # an incomplete sample is scored on what it has, never learned; nor is one beyond a limit
        complete = all(v is not None for v in observed)
        return assessment, (learning, observed) if complete and within_limits else None, smooth, instant

    def _learn(self, learning: tuple, expected: tuple[float, ...], weight: float) -> None:
        """Update the regressions, then the residual statistics (once the regressions have settled).

        The regressions learn the signals less their drifting offset, so ambient drift neither
        distorts the operating-point model nor decides which thermal time constant looks best
        (the thermal candidates each follow the drift themselves).
        """
        models, observed = learning
        residuals = [y - e for y, e in zip(observed, expected, strict=False)]  # a priori
        leverage = [0.0] * len(self.condition)
        if "static" in models:
            pf, h = models["static"]
            for j in self._static_at:
                leverage[j] = h
            self._static.learn(pf, h, np.array([residuals[j] for j in self._static_at]), weight)
        if "thermal" in models:
            heat, leverages = models["thermal"]
            for j, h in zip(self._thermal_at, leverages, strict=False):
                leverage[j] = h
            # readings a second apart tell little new about lags of minutes: learn every few seconds
            if self._t >= self._thermal_due:
                self._thermal_due = self._t + self.thermal_every
                actual = np.array([observed[j] for j in self._thermal_at])
                noise = np.array([self._sd[j] ** 2 for j in self._thermal_at]) if self.ready else None
                drift = -math.expm1(-self.thermal_every / self.ambient)
                self._thermal.learn(heat, actual, weight, drift, noise)

        if self.n_learned < self.warm_up // 2:
            self.n_learned += 1
            return
        # The spreads are learned from healthy-looking samples only: a deviation that persists must not
        # widen the very yardstick it is measured with. The levels follow every sample learned, each
        # step bounded by ``huber`` spreads: a level that only followed readings close to it could
        # never follow a signal wandering away faster than its noise.
        healthy = weight == 1.0
        if healthy:
            self._n_stats += 1
        n_stats = max(self._n_stats, 1)
        # The operating-point signals' level and spread: plain averages over the second half of the
        # warm-up, exponential ones after it. Plain averages for longer would follow a fault creeping
        # in from the start: the level half way up the ramp, the spread as wide as the ramp, and the
        # deviation forever ~1.7. The temperatures' spread stays a plain average (exponential once
        # ``memory`` is reached): it also measures how well their slowly learned dynamics are known,
        # which the first hours keep revising.
        settled = n_stats > self.warm_up - self.warm_up // 2
        a_bias = -math.expm1(-self._dt / self.drift) if settled else 1.0 / n_stats
        # a signal that wanders while healthy (a temperature following the room) is judged against its
        # recent level
        a_wander = -math.expm1(-self._dt / self.wander_drift) if settled else a_bias
        a_var = -math.expm1(-self._dt / self.memory)
        a_static = a_var if settled else 1.0 / n_stats
        a_thermal = max(a_var, 1.0 / n_stats)
        # before the warm-up ends nothing is scored yet, so there is no spread to clip against
        clip = self.huber if self.n_learned >= self.warm_up else math.inf
        bias, var, sd, tracked = self._bias, self._var, self._sd, self._offset_tracked
        smooth, smooth_var, step_var, last = self._smooth, self._smooth_var, self._step_var, self._last_residual
        wander = 2.0 * self.wander * self.wander
        quarter = (self.warm_up - self.warm_up // 2) // 4
        for j, r in enumerate(residuals):
            scale = math.sqrt(1.0 + leverage[j])
            bound = clip * sd[j]
            e = r / scale
            e = _clip(e, bound)
            if j in tracked:
                bias[j] += (a_wander if step_var[j] < wander * var[j] else a_bias) * e * scale
            if not healthy:
                last[j] = None
                continue
            rate = a_static if j in tracked else a_thermal
            if last[j] is not None:
                step = e - last[j]
                step_var[j] += rate * (step * step - step_var[j])
            last[j] = e
            var[j] += rate * (e * e - var[j])
            # a signal that never moved while healthy must not make the smallest step a huge deviation
            sd[j] = max(math.sqrt(var[j]), 1e-3 * abs(expected[j]), 1e-9)
            if n_stats > quarter:
                # the persistent deviations' own spread, once the spreads they are measured in have settled:
                # a plain average for as long as ``memory`` (a slow wander takes many minutes to show its
                # full spread), then exponential
                p = smooth[j]
                if self.ready and p * p > SPREAD_GATE * SPREAD_GATE * smooth_var[j]:
                    continue  # persisting away from healthy: not a yardstick of healthy
                smooth_var[j] += max(a_var, 1.0 / (n_stats - quarter)) * (p * p - smooth_var[j])
        if n_stats > quarter:
            self._smooth_learned_s += self._dt
        self.n_learned += 1

    @classmethod
    def _unit_test_params(cls):
        yield {
            "condition": ("flow_m3h", "bearing_temp_c"),
            "thermal": ("bearing_temp_c",),
            "driver": "speed_rpm",
            "nominal": 2950.0,
            "running_metric": "speed_rpm",
            "running_min": 1800.0,
        }
        yield {}


def _clip(x: float, bound: float) -> float:
    """``x`` bounded to ``[-bound, bound]``."""
    return bound if x > bound else -bound if x < -bound else x
