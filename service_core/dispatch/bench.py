"""``fleetcare bench dispatch``: our planner against plain OR-Tools routing on synthetic days. No database.

An instance is a random working day in a 110 x 110 km square cut into four regions: engineers with one to
three skills at levels 1-5, shifts starting 07:00-09:00 for 8-9 hours, a territory of one or two regions
(or none: anywhere) and a van holding some of eight parts; orders needing one skill at level 1-3, 30-90
minutes on site, a third with a 2-4 hour time window, a third needing a part. Both planners get the same
instance: ours (``planner``) within its time limit, the baseline (``baseline``, plain OR-Tools routing) to its own
local optimum unless it is given a time limit too. The independent checker counts hard-constraint violations
in each.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from service_core.dispatch import baseline, checker, planner

SOUTH, NORTH, WEST, EAST = 51.6, 52.6, 4.2, 5.8
SKILLS = ("mechanical", "electrical", "hydraulic", "controls")
PARTS = tuple(f"P-{n:03d}" for n in range(1, 9))
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")


def region_of(lat: float, lon: float) -> str:
    return ("N" if lat >= (SOUTH + NORTH) / 2 else "S") + ("E" if lon >= (WEST + EAST) / 2 else "W")


def instance(*, engineers: int = 50, orders: int = 300, seed: int = 1) -> tuple[list[planner.Engineer],
                                                                                list[planner.Order]]:
    """A reproducible synthetic day (minutes from midnight)."""
    rnd = random.Random(seed)

    def point() -> tuple[float, float]:
        return rnd.uniform(SOUTH, NORTH), rnd.uniform(WEST, EAST)

    regions = ("NW", "NE", "SW", "SE")
    team = []
    for i in range(1, engineers + 1):
        home = point()
        start = rnd.choice((7, 8, 9)) * 60
        territory = frozenset()
        if rnd.random() < 0.6:
            territory = frozenset({region_of(*home), rnd.choice(regions)})
        team.append(planner.Engineer(
            engineer_id=i,
            home=home,
            start=start,
            end=start + rnd.choice((8, 9)) * 60,
            skills={s: rnd.randint(1, 5) for s in rnd.sample(SKILLS, rnd.randint(1, 3))},
            territories=territory,
            van={p: float(rnd.randint(1, 4)) for p in PARTS if rnd.random() < 0.5},
        ))
    work = []
    for n in range(1, orders + 1):
        site = point()
        window = None
        if rnd.random() < 1 / 3:
            opens = rnd.randint(8 * 4, 14 * 4) * 15
            window = (opens, opens + rnd.randint(2, 4) * 60)
        work.append(planner.Order(
            work_order_id=n,
            site=site,
            region=region_of(*site),
            skills={rnd.choice(SKILLS): rnd.choice((1, 1, 2, 2, 3))},
            duration=rnd.choice((30, 45, 60, 75, 90)),
            window_start=window[0] if window else None,
            window_end=window[1] if window else None,
            parts={rnd.choice(PARTS): float(rnd.randint(1, 2))} if rnd.random() < 1 / 3 else {},
            priority=rnd.choice(PRIORITIES),
        ))
    return team, work


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    plan: planner.Plan
    violations: list[str]
    left_out: dict[str, int]  # priority -> orders left out of the plan

    def line(self) -> str:
        p = self.plan
        by_priority = " ".join(f"{k} {self.left_out.get(k, 0)}" for k in PRIORITY_ORDER)
        return (f"{self.name:<9} travel {p.travel_km:10.1f} km  assigned {p.assigned:4d}  unassigned "
                f"{len(p.unassigned):4d} ({by_priority})  violations {len(self.violations)}  "
                f"wall {p.wall_seconds:5.2f} s")

    @property
    def weighted_left_out(self) -> int:
        """Left-out orders weighted by priority as dispatch weighs them (urgent 8, high 4, normal 2, low 1)."""
        return sum(planner.PRIORITY_WEIGHT[k] * n for k, n in self.left_out.items())


PRIORITY_ORDER = ("urgent", "high", "normal", "low")


def run(
    *, engineers: int = 50, orders: int = 300, seed: int = 1, time_limit_s: float = 8.0,
    baseline_time_limit_s: float | None = None,
) -> list[Result]:
    """Ours, then the baseline, on the same instance."""
    team, work = instance(engineers=engineers, orders=orders, seed=seed)
    priority = {o.work_order_id: o.priority for o in work}
    results = []
    for name, plan_day in (
        ("ours", lambda: planner.solve(team, work, time_limit_s=time_limit_s)),
        ("baseline", lambda: baseline.solve(team, work, time_limit_s=baseline_time_limit_s)),
    ):
        plan = plan_day()
        left_out = dict(Counter(priority[w] for w in plan.unassigned))
        results.append(Result(name, plan, checker.violations(team, work, plan), left_out))
    return results


def report(
    results: list[Result], *, engineers: int, orders: int, seed: int, time_limit_s: float,
    baseline_time_limit_s: float | None = None,
) -> str:
    ours, base = results
    ratio = ours.plan.travel_km / base.plan.travel_km if base.plan.travel_km else float("nan")
    per_order = [r.plan.travel_km / r.plan.assigned if r.plan.assigned else float("nan") for r in results]
    lines = [
        f"dispatch benchmark: {engineers} engineers, {orders} orders, seed {seed}; ours within {time_limit_s:g} s, "
        + ("the baseline to its local optimum" if baseline_time_limit_s is None
           else f"the baseline within {baseline_time_limit_s:g} s"),
        ours.line(),
        base.line(),
        f"travel ratio ours/baseline {ratio:.3f} (target <= 1.05); km per assigned order "
        f"{per_order[0]:.2f} vs {per_order[1]:.2f}",
        f"left out, weighted by priority: ours {ours.weighted_left_out} vs baseline {base.weighted_left_out} "
        "(target: ours no more)",
        f"hard-constraint violations: ours {len(ours.violations)}, baseline {len(base.violations)} (must be 0)",
    ]
    lines += [f"  ours: {v}" for v in ours.violations[:10]] + [f"  baseline: {v}" for v in base.violations[:10]]
    return "\n".join(lines)
