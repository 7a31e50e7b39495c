"""Prometheus' text exposition format (version 0.0.4), written by hand: a few metric families need no library.

Each function returns one family: its ``# HELP`` and ``# TYPE`` lines, then its samples, each line ending in a
newline, so a scrape is the families joined.

>>> print(counter("jobs_total", "Jobs done.", 3), end="")
# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total 3
>>> print(gauge("pool_size", "Open connections.", 2, labels={"pool": 'a "b"'}), end="")
# HELP pool_size Open connections.
# TYPE pool_size gauge
pool_size{pool="a \\"b\\""} 2
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Mapping[str, str] | None


def counter(name: str, help: str, value: float, *, labels: Labels = None) -> str:
    """A monotonic count; by convention ``name`` ends in ``_total``."""
    return _header(name, help, "counter") + _sample(name, labels, value)


def gauge(name: str, help: str, value: float | bool, *, labels: Labels = None) -> str:
    """A value that goes up and down (``True`` / ``False`` become 1 / 0)."""
    return _header(name, help, "gauge") + _sample(name, labels, value)


def histogram(
    name: str, help: str, *, bounds: Sequence[float], counts: Sequence[int], total: float, labels: Labels = None
) -> str:
    """``counts[i]`` observations fell in (bounds[i-1], bounds[i]]; ``counts[-1]`` above the last bound."""
    if len(counts) != len(bounds) + 1:
        raise ValueError(f"{name}: {len(bounds)} bounds need {len(bounds) + 1} counts, got {len(counts)}")
    lines = [_header(name, help, "histogram")]
    cumulative = 0
    for bound, count in zip([*bounds, math.inf], counts, strict=True):
        cumulative += count
        lines.append(_sample(f"{name}_bucket", {**(labels or {}), "le": _number(bound)}, cumulative))
    lines.append(_sample(f"{name}_sum", labels, total))
    lines.append(_sample(f"{name}_count", labels, cumulative))
    return "".join(lines)


def _header(name: str, help: str, kind: str) -> str:
    text = help.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {text}\n# TYPE {name} {kind}\n"


def _sample(name: str, labels: Labels, value: float | bool) -> str:
    if labels:
        pairs = ",".join(f'{key}="{_label_value(v)}"' for key, v in labels.items())
        name = f"{name}{{{pairs}}}"
    return f"{name} {_number(value)}\n"


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | bool) -> str:
    if isinstance(value, bool | int):
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)
