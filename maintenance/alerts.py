"""Turning an asset's scores into alerts: smoothing, debounce and hysteresis."""

from __future__ import annotations

import enum

from river import base


class Transition(enum.Enum):
    RAISE = "raise"
    CLEAR = "clear"


class AlertDecision(base.Base):
    """Raise when the smoothed score stays high, clear when it stays low.

    Each score is capped at ``cap`` and folded into an exponentially weighted level
    (``smoothing`` is the weight of the newest score). The alert is raised once the level has
    been at or above ``raise_above`` for ``raise_after`` consecutive scores, and cleared once it
    has been at or below ``clear_below`` for ``clear_after`` consecutive scores.

    One reading moves the level by at most ``smoothing * cap``, so on a healthy level of
    ``(raise_above - smoothing * cap) / (1 - smoothing)`` or less, a single reading, however
    wild, never raises; a fault that keeps the score above ``raise_above`` always does.

    >>> decision = AlertDecision()
    >>> [decision.update(s) for s in [1.0, 1.0, 500.0, 1.0]]
    [None, None, None, None]
    >>> events = [decision.update(9.0) for _ in range(30)]
    >>> events.index(Transition.RAISE), decision.active
    (13, True)
    """

    def __init__(
        self,
        smoothing: float = 0.1,
        cap: float = 12.0,
        raise_above: float = 4.0,
        raise_after: int = 10,
        clear_below: float = 2.0,
        clear_after: int = 60,
    ) -> None:
        if not 0 < smoothing <= 1:
            raise ValueError("smoothing must lie in (0, 1]")
        if not clear_below < raise_above <= cap:
            raise ValueError("need clear_below < raise_above <= cap")
        if raise_after < 1 or clear_after < 1:
            raise ValueError("raise_after and clear_after must be at least 1")
        self.smoothing = smoothing
        self.cap = cap
        self.raise_above = raise_above
        self.raise_after = raise_after
        self.clear_below = clear_below
        self.clear_after = clear_after

        self.level = 0.0
        self.active = False
        self._streak = 0  # consecutive scores on the far side of the threshold that would switch

    @property
    def alarming(self) -> bool:
        """An alert is open, or the level is high enough that one may be about to be."""
        return self.active or self.level >= self.raise_above

    def update(self, score: float) -> Transition | None:
        """Fold in one score; the transition it completes, if any."""
        self.level += self.smoothing * (min(score, self.cap) - self.level)
        if not self.active:
            self._streak = self._streak + 1 if self.level >= self.raise_above else 0
            if self._streak >= self.raise_after:
                self.active, self._streak = True, 0
                return Transition.RAISE
        else:
            self._streak = self._streak + 1 if self.level <= self.clear_below else 0
            if self._streak >= self.clear_after:
                self.active, self._streak = False, 0
                return Transition.CLEAR
        return None

    def reset(self) -> None:
        """Back to a healthy, quiet state."""
        self.level, self.active, self._streak = 0.0, False, 0
