"""Temperatures that follow the operating point through a first-order thermal lag.

Each temperature is modelled as ``c + Σ a_i·lag(source_i)`` over a few heat sources (for the
detector: the losses that grow with load, and the unit running at all) plus the ambient. The
time constant of the lag is not known in advance, so one small model per candidate time
constant is learned side by side, and each temperature follows the candidate whose predictions
have been the most likely, each judged against its own uncertainty (a candidate caught
unprepared by its first cold start is not condemned for it, as it would be on squared errors
alone). Two or three weights per candidate are learned from a handful of load
changes and start-ups, where a free combination of many lags would need hours of data before
it stopped chasing whatever it was shown.

Ambient drifts, and a drift can look like the tail of a slow response: each candidate follows
it with an offset of its own, so the drift cannot make a wrong time constant look right.

When the heat sources of a stretch of time are not known (no data came), the state is restarted
from the temperatures read afterwards (:meth:`ThermalRegression.restart`): what the lagged sources
do not explain of them is kept in the state and fades as the lag would, since for a first-order
lag the effect of any unknown past dies away with the lag's own time constant.
"""

from __future__ import annotations

import math

import numpy as np

# a candidate is still in the running while the evidence against it, relative to the best, is
# below this (twice a log-likelihood ratio: 6 is odds of about 20 to 1)
PLAUSIBLE = 6.0


class ThermalRegression:
    """Recursive least squares of several temperatures on lagged heat sources, one model per time constant.

    A state holds each candidate's features ``[1, lag(source_1), ...]`` followed, per target, by the
    part of that temperature the features do not explain since a restart (0 without one).

    >>> model = ThermalRegression(time_constants=(50.0, 100.0, 200.0), sources=1, n_targets=1, ridge=1e-6, memory=600)
    >>> state = model.equilibrium((1.0,))
    >>> temperature = 70.0
    >>> for t in range(1, 3000):
    ...     load = 1.0 if (t // 600) % 2 == 0 else 0.5
    ...     state = model.advance(state, (load * load,), 1.0)
    ...     temperature += (1 - math.exp(-1 / 100.0)) * (20.0 + 50.0 * load * load - temperature)
    ...     model.learn(state, np.array([temperature]), 1.0, 0.01, noise=np.array([0.01]))
    >>> model.tau[model.best[0]]
    np.float64(100.0)
    >>> [round(v, 1) for v in model.outlook(state, (1.0,))[0]]  # prediction, leverage, settled, doubt, unexplained
    [69.9, 0.0, 70.0, 0.0, 0.0]

    After an hour without data at half load the unit is back at full load, its temperature 2.0 below what the
    sources held at full load throughout would give; restarted from the readings, the state expects it to close
    that gap as the lag does:

    >>> blind = model.advance(state, (1.0,), 3600.0)
    >>> restarted = model.restart(blind, np.array([68.0]), 1)
    >>> [round(model.outlook(s, (1.0,))[0][0], 1) for s in (blind, restarted, model.advance(restarted, (1.0,), 100.0))]
    [70.0, 68.0, 69.3]
    """

    def __init__(
        self, time_constants: tuple[float, ...], sources: int, n_targets: int, ridge: float, memory: int
    ) -> None:
        """``ridge`` is the prior precision of the weights relative to the noise; ``memory`` how
        many learning steps the ranking of the candidates remembers."""
        self.tau = np.array(time_constants, dtype=float)
        n, k = len(self.tau), 1 + sources
        self.P = np.repeat(np.eye(k)[None] / ridge, n, axis=0)
        self.weights = np.zeros((n, n_targets, k))
        self.offset = np.zeros((n, n_targets))  # the ambient drift, as each candidate sees it
        self.error = np.zeros((n, n_targets))  # recent mean surprise of each candidate (see learn)
        self.best = np.zeros(n_targets, dtype=int) + n // 2
        self._memory = memory
        self._n = 0
        self._rates: tuple[float, np.ndarray] = (math.nan, np.zeros((n, self.width)))
        self._shortlist()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._rates[1].shape != (len(self.tau), self.width):
            # the cache of advance() of a model written before states kept their unexplained part: too narrow
            self._rates = (math.nan, np.zeros((len(self.tau), self.width)))

    @property
    def width(self) -> int:
        """The columns of a state: the features, then the unexplained part of each target."""
        _, n_targets, k = self.weights.shape
        return k + n_targets

    def equilibrium(self, sources: tuple[float, ...]) -> np.ndarray:
        """The state of a unit that has run like this for a long time."""
        _, n_targets, _ = self.weights.shape
        return np.repeat(np.array([[1.0, *sources, *(0.0,) * n_targets]]), len(self.tau), axis=0)

    def advance(self, state: np.ndarray, sources: tuple[float, ...], dt: float) -> np.ndarray:
        """The state ``dt`` seconds later, the heat sources having been ``sources``.

        The unexplained part fades with each candidate's lag (it heads for 0 as the features head for the sources).
        """
        if dt != self._rates[0]:
            rates = np.zeros(state.shape)  # the constant feature does not move
            rates[:, 1:] = -np.expm1(-dt / self.tau)[:, None]
            self._rates = (dt, rates)  # a cache: dt is nearly always the same
        _, n_targets, _ = self.weights.shape
        return state + self._rates[1] * (np.array([1.0, *sources, *(0.0,) * n_targets]) - state)

    def restart(self, state: np.ndarray, observed: np.ndarray, count: int) -> np.ndarray:
        """The state after the ``count``-th reading since the heat sources went unknown for a while.

        Its unexplained part becomes, per candidate and target, the mean over those readings of what
        the features did not explain of ``observed``, each brought forward by the fading since (which
        :meth:`advance` has applied to the mean so far). Nothing learned is changed.
        """
        k = self.weights.shape[2]
        restarted = state.copy()
        unexplained = restarted[:, k:]
        surprise = observed - (np.einsum("ctj,cj->ct", self.weights, state[:, :k]) + self.offset + unexplained)
        unexplained += surprise / count
        return restarted

    def outlook(
        self, state: np.ndarray, sources: tuple[float, ...]
    ) -> list[tuple[float, float, float, float, float]]:
        """Per target, from its best candidate: the prediction, its leverage, the prediction once
        settled at these sources, the doubt (half the spread of the candidates still in the running)
        and the part of the prediction that is the unexplained part of the state.

        Until transients have told the time constants apart, every candidate is as good as the
        best and a prediction through a transient is a guess: the doubt says how wild a guess.
        Once one has won, only its close rivals count and the doubt shrinks to nearly nothing.
        """
        rows = dict(zip(self._needed, state[self._needed].tolist(), strict=False))
        target = (1.0, *sources)
        k = len(target)
        out = []
        # _dot stops at the shorter of its arguments: with a weight vector it reads a state's features only
        for i, ((c, w, off, p), rivals) in enumerate(zip(self._leaders, self._rivals, strict=False)):
            f = rows[c]
            unexplained = f[k + i]
            predicted = _dot(w, f) + off + unexplained
            h = _dot(f, [_dot(row, f) for row in p])
            settled = _dot(w, target) + off
            guesses = [_dot(v, rows[r]) + o + rows[r][k + i] for r, v, o in rivals] or [predicted]
            out.append((predicted, h, settled, (max(guesses) - min(guesses)) / 2.0, unexplained))
        return out

    def learn(
        self,
        state: np.ndarray,
        observed: np.ndarray,
        weight: float,
        drift: float,
        noise: np.ndarray | None = None,
    ) -> None:
        """One step of every candidate with the ``observed`` temperatures, then re-rank the candidates.

        ``weight`` < 1 counts the reading as less than one observation; ``drift`` is the rate at
        which the offsets follow. ``noise`` is each target's measurement variance; without it the candidates are
        not ranked (models still converging from nothing say nothing about their time constants).
        """
        k = self.weights.shape[2]
        state, unexplained = state[:, :k], state[:, k:]
        pf = np.einsum("cij,cj->ci", self.P, state)
        h = np.einsum("ci,ci->c", state, pf)
        residuals = observed - (np.einsum("ctj,cj->ct", self.weights, state) + self.offset + unexplained)  # a priori
        d = 1.0 / weight + h
        root = pf / np.sqrt(d)[:, None]
        self.P -= root[:, :, None] * root[:, None, :]
        self.weights += residuals[:, :, None] * (pf / d[:, None])[:, None, :]
        self.offset += drift * weight * residuals
        if noise is not None:
            self._n += 1
            rate = max(1.0 / self._n, 1.0 / self._memory)
            # minus twice the log-likelihood of the reading under each candidate's predictive distribution
            spread = 1.0 + h[:, None]
            surprise = np.log(spread) + residuals * residuals / (noise * spread)
            self.error += rate * (surprise - self.error)
            self.best = self.error.argmin(axis=0)
        self._shortlist()

    def shift(self, by: np.ndarray) -> None:
        """Move every candidate's offset by ``by`` (one value per target): a new level taken as healthy."""
        self.offset += by[None, :]
        self._shortlist()

    def _shortlist(self) -> None:
        """Copy what :meth:`outlook` reads for every reading into plain floats, once per learning step."""
        evidence = min(self._n, self._memory)
        contenders = (self.error - self.error.min(axis=0)) * evidence <= PLAUSIBLE
        weights, offset = self.weights.tolist(), self.offset.tolist()
        self._leaders = [
            (int(c), weights[c][k], offset[c][k], self.P[c].tolist()) for k, c in enumerate(self.best.tolist())
        ]
        self._rivals = [
            [(int(c), weights[c][k], offset[c][k]) for c in np.flatnonzero(contenders[:, k])]
            for k in range(len(self._leaders))
        ]
        self._needed = sorted({c for c, *_ in self._leaders} | {c for rivals in self._rivals for c, *_ in rivals})


def _dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False))
