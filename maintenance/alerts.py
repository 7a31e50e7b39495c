"""Turning an asset's persistent deviations into alerts: raise, recover, relapse, clear."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from river import base


class Transition(enum.Enum):
    RAISE = "raise"  # a signal has moved far off its healthy level and stays there
    RECOVER = "recover"  # the signals that raised the alert are back near their levels
    RELAPSE = "relapse"  # they left again before the alert cleared
    CLEAR = "clear"  # they stayed back for ``clear_after`` seconds


class State(enum.Enum):
    QUIET = "quiet"
    DEVIATING = "deviating"
    RECOVERING = "recovering"


class AlertDecision(base.Base):
    """Raise when a signal's persistent deviation is far off, clear once the signals behind it have come back.

    The detector reports, per signal, its persistent deviation (an average over a few seconds, in
    its healthy spread) and a score, the largest of them (or more, when a datasheet limit is
    crossed). The alert is raised once the score has been at or above ``raise_above`` for
    ``raise_after`` consecutive readings.

    A signal that went at least ``raise_above`` off during the alert is *involved*. The asset is
    back when no datasheet limit has been crossed for ``clear_after`` seconds and every involved
    signal is within ``clear_within``,
    or within ``clear_fraction`` of the furthest it went but no further off than ``clear_ceiling``:
    a pump whose flow fell by half and came back to within a few percent has recovered, even if the
    valve does not seat exactly where it did. The alert clears once the asset has stayed back for
    ``clear_after`` seconds. It relapses if an involved signal leaves again, beyond both its
    tolerance and ``raise_above`` (so that a signal hovering at the edge of its tolerance does not
    toggle the state), or a limit is crossed.

    >>> decision = AlertDecision()
    >>> [decision.update(s, (s,), t) for t, s in enumerate([1.0, 9.0, 1.0, 1.0])]
    [None, None, None, None]
    >>> events = [decision.update(9.0, (9.0,), t) for t in range(10, 20)]
    >>> events.index(Transition.RAISE), decision.state.value
    (1, 'deviating')
    >>> decision.update(2.0, (2.0,), 20), decision.update(2.0, (2.0,), 80)
    (<Transition.RECOVER: 'recover'>, <Transition.CLEAR: 'clear'>)
    """

    def __init__(
        self,
        raise_above: float = 6.0,
        raise_after: int = 2,
        clear_within: float = 3.0,
        clear_fraction: float = 0.5,
        clear_after: float = 60.0,
        clear_ceiling: float = 12.0,
    ) -> None:
        if not 0 < clear_within < raise_above <= clear_ceiling:
            raise ValueError("need 0 < clear_within < raise_above <= clear_ceiling")
        if raise_after < 1:
            raise ValueError("raise_after must be at least 1")
        if not 0 <= clear_fraction < 1 or clear_after < 0:
            raise ValueError("clear_fraction must lie in [0, 1) and clear_after must not be negative")
        self.raise_above = raise_above
        self.raise_after = raise_after
        self.clear_within = clear_within
        self.clear_fraction = clear_fraction
        self.clear_after = clear_after
        self.clear_ceiling = clear_ceiling

        self.level = 0.0  # the latest score
        self.state = State.QUIET
        self._streak = 0  # consecutive readings at or above ``raise_above`` while quiet
        self._peaks: list[float] = []  # per signal, the furthest it went during the alert
        self._back_since: float | None = None
        self._limit_at: float | None = None  # when a datasheet limit was last crossed during the alert

    @property
    def active(self) -> bool:
        """An alert is open (deviating or recovering)."""
        return self.state is not State.QUIET

    @property
    def alarming(self) -> bool:
        """The asset is not to be learned from: an alert is open."""
        return self.active

    @property
    def involved(self) -> tuple[bool, ...]:
        """Per signal, whether the open alert is about it (it went ``raise_above`` or further off)."""
        return tuple(p >= self.raise_above for p in self._peaks)


    @property
    def deviating(self) -> bool:
        """An alert is open and the asset has not come back yet."""
        return self.state is State.DEVIATING

    def update(
        self,
        score: float,
        deviations: Sequence[float],
        t: float,
        beyond_limits: bool = False,
        doubtful: Sequence[bool] = (),
    ) -> Transition | None:
        """Fold in one reading's score and persistent deviations at time ``t`` (seconds); the transition, if any.

        ``beyond_limits``: the reading crossed a datasheet limit (its score says how far off it is).
        ``doubtful``: per signal, its model is too unsure to tell (an operating point hardly seen): an
        involved signal that is doubtful is not taken as back, nor as gone again.
        """
        self.level = score
        if self.state is State.QUIET:
            self._streak = self._streak + 1 if score >= self.raise_above else 0
            if self._streak >= self.raise_after:
                self.state, self._streak = State.DEVIATING, 0
                self._peaks = [abs(d) for d in deviations]
                self._limit_at = t if beyond_limits else None
                return Transition.RAISE
            return None
        peaks = self._peaks
        if len(peaks) != len(deviations):
            peaks = self._peaks = [0.0] * len(deviations)
        recovering = self.state is State.RECOVERING
        if beyond_limits:
            self._limit_at = t
        # a reading hovering about a datasheet limit crosses it on and off: back only once it has stayed
        # within it for ``clear_after`` seconds
        back = self._limit_at is None or t - self._limit_at >= self.clear_after
        for j, d in enumerate(deviations):
            d = abs(d)
            if d > peaks[j]:
                peaks[j] = d
            if back and peaks[j] >= self.raise_above and j < len(doubtful) and doubtful[j]:
                if not recovering:
                    back = False  # unsure is not back
                continue  # nor gone again
            if back and peaks[j] >= self.raise_above:
                tolerance = max(self.clear_within, min(self.clear_fraction * peaks[j], self.clear_ceiling))
                if d > (max(tolerance, self.raise_above) if recovering else tolerance):
                    back = False
        if not recovering:
            if back:
                self.state, self._back_since = State.RECOVERING, t
                return Transition.RECOVER
            return None
        if not back:
            self.state, self._back_since = State.DEVIATING, None
            return Transition.RELAPSE
        if t - self._back_since >= self.clear_after:
            self.reset()
            return Transition.CLEAR
        return None

    def reset(self) -> None:
        """Back to a healthy, quiet state."""
        self.level, self.state, self._streak = 0.0, State.QUIET, 0
        self._peaks, self._back_since, self._limit_at = [], None, None
