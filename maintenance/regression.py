"""Recursive least squares for several targets that share one feature vector.

The inverse covariance ``P`` depends on the features only, so every target reuses it and a
learning step costs one rank-one update however many signals are predicted.
"""

from __future__ import annotations

import numpy as np


class SharedRegression:
    """Linear models ``y_j ≈ w_j · f``, learned exactly (no step size), with a weak Gaussian prior.

    ``P`` starts at ``I / ridge``: directions of the feature space never seen keep a large
    variance, which :meth:`leverage` reports so a caller can tell extrapolation from knowledge.

    >>> reg = SharedRegression(n_features=2, n_targets=1, ridge=1e-6)
    >>> for u in (0.8, 0.9, 1.0, 0.85):
    ...     f = np.array([1.0, u])
    ...     pf, h = reg.leverage(f)
    ...     reg.learn(pf, h, np.array([10.0 * u + 1.0]) - reg.predict(f))
    >>> round(float(reg.predict(np.array([1.0, 0.95]))[0]), 3)
    10.5
    """

    def __init__(self, n_features: int, n_targets: int, ridge: float) -> None:
        self.P = np.eye(n_features) / ridge
        self.weights = np.zeros((n_targets, n_features))

    def leverage(self, f: np.ndarray) -> tuple[np.ndarray, float]:
        """``P f`` and ``h = f' P f``: the prediction variance at ``f`` is ``noise² (1 + h)``."""
        pf = self.P @ f
        return pf, float(f @ pf)

    def predict(self, f: np.ndarray) -> np.ndarray:
        return self.weights @ f

    def learn(self, pf: np.ndarray, h: float, residuals: np.ndarray, weight: float = 1.0) -> None:
        """One step with the a-priori ``residuals`` (observed minus predicted) of every target.

        ``weight`` < 1 counts the sample as less than one observation (robust learning).
        """
        d = 1.0 / weight + h
        root = pf / np.sqrt(d)
        self.P -= root[:, None] * root  # the same vector twice keeps P exactly symmetric
        self.weights += residuals[:, None] * (pf / d)
